import { ClassConstructor, plainToInstance } from 'class-transformer';
import { ValidationError, ValidatorOptions, validateSync } from 'class-validator';
import { EACH_ITEM_IS_OBJECT } from './fields';
import { JOB_INPUT_CLASSES, JobInput, JobInputOf } from './job-inputs';
import { JOB_OPERATIONS, JobOperation, isJobOperation } from './operations';

export interface JobInputFieldError {
  /** Where the problem is, e.g. `images[0].duracao` or `style.font.size`; "" for the input itself. */
  field: string;
  /** Names the field; never echoes its value, which may carry a signed URL. */
  message: string;
}

export type JobInputValidation<T> =
  | { ok: true; value: T }
  | { ok: false; errors: JobInputFieldError[] };

type PathSegment = string | number;

interface LocatedError {
  path: PathSegment[];
  messages: string[];
}

const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: true },
};

/**
 * Checks a job's input against its operation's class, the same rules the worker applies with the
 * generated JSON Schema, and reports every offending field by its path. Only the outermost offending
 * field of a branch is reported (a wrong `images` hides what is wrong inside it), which is also what
 * the worker reports, so both sides name the same fields for the same input.
 */
export function validateJobInput<O extends JobOperation>(
  operation: O,
  plain: unknown,
): JobInputValidation<JobInputOf<O>>;
export function validateJobInput(operation: string, plain: unknown): JobInputValidation<JobInput>;
export function validateJobInput(operation: string, plain: unknown): JobInputValidation<JobInput> {
  if (!isJobOperation(operation)) {
    return failed([
      { path: ['operation'], messages: [`operation must be one of ${JOB_OPERATIONS.join(', ')}`] },
    ]);
  }
  if (!isJsonObject(plain)) {
    return failed([{ path: [], messages: ['the job input must be a JSON object'] }]);
  }
  const inherited: LocatedError[] = [];
  const clean = withoutInheritedKeys(plain, [], inherited) as Record<string, unknown>;
  const inputClass: ClassConstructor<JobInput> = JOB_INPUT_CLASSES[operation];
  const value = plainToInstance(inputClass, clean);
  const located = [...inherited, ...locate(validateSync(value, VALIDATOR_OPTIONS), [])];
  return located.length > 0 ? failed(located) : { ok: true, value };
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * class-transformer skips keys that name something on Object.prototype (`__proto__`, `toString`, …)
 * and throws on a `constructor` key inside an object it has no class for. The schema refuses such
 * keys like any other unknown key (no contract field has such a name), so they are reported here and
 * left out of what class-transformer sees.
 */
function withoutInheritedKeys(value: unknown, path: PathSegment[], found: LocatedError[]): unknown {
  if (Array.isArray(value)) {
    return value.map((item, index) => withoutInheritedKeys(item, [...path, index], found));
  }
  if (!isJsonObject(value)) return value;
  const clean: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key in Object.prototype) {
      found.push({ path: [...path, key], messages: [`property ${key} should not exist`] });
    } else {
      clean[key] = withoutInheritedKeys(item, [...path, key], found);
    }
  }
  return clean;
}

/** class-validator names array items "0", "1", …; the parent's value tells them from keys. */
function locate(errors: ValidationError[], parent: PathSegment[], inArray = false): LocatedError[] {
  return errors.flatMap((error) => {
    const path = [...parent, inArray ? Number(error.property) : error.property];
    const { [EACH_ITEM_IS_OBJECT]: itemsNotObjects, ...constraints } = error.constraints ?? {};
    const own = Object.values(constraints);
    const items =
      itemsNotObjects !== undefined && Array.isArray(error.value)
        ? error.value.flatMap((item: unknown, index) =>
            isJsonObject(item) ? [] : [{ path: [...path, index], messages: ['must be an object'] }],
          )
        : [];
    const children = locate(error.children ?? [], path, Array.isArray(error.value));
    return [...(own.length > 0 ? [{ path, messages: own }] : []), ...items, ...children];
  });
}

function failed(located: LocatedError[]): { ok: false; errors: JobInputFieldError[] } {
  const offending = new Set(located.map(({ path }) => JSON.stringify(path)));
  const outermost = located.filter(
    ({ path }) => !path.some((_, depth) => offending.has(JSON.stringify(path.slice(0, depth)))),
  );
  const byField = new Map<string, string[]>();
  for (const { path, messages } of outermost) {
    const field = formatPath(path);
    const leaf = path.at(-1);
    const named = messages.map((message) =>
      leaf !== undefined && message.startsWith(`${leaf} `)
        ? `${field}${message.slice(String(leaf).length)}`
        : [field, message].filter(Boolean).join(': '),
    );
    byField.set(field, [...(byField.get(field) ?? []), ...named]);
  }
  return {
    ok: false,
    errors: [...byField].map(([field, messages]) => ({ field, message: messages.join('; ') })),
  };
}

/** `images[0].duracao`: array indices in brackets, property names joined by dots. */
function formatPath(path: PathSegment[]): string {
  return path.reduce<string>((field, segment, i) => {
    if (typeof segment === 'number') return `${field}[${segment}]`;
    return i === 0 ? segment : `${field}.${segment}`;
  }, '');
}
