import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { badRequest } from './error-body';

/** A check run on the raw body before the DTO's rules; what it returns is the answer's error and message. */
export type RawBodyCheck = (body: Record<string, unknown>) => { error: string; message: string } | undefined;

export type RawBodyChecks = ReadonlyMap<abstract new (...args: never[]) => unknown, RawBodyCheck>;

/**
 * Validates bodies against their DTO classes with transform on. Unknown fields are dropped without
 * an error (the replaced service's clients send extras such as `frame_rate`), at every depth, so
 * they never reach the worker. Every message names its field, as `images[0].duracao`.
 */
@Injectable()
export class RequestValidationPipe extends ValidationPipe {
  constructor(private readonly rawBodyChecks: RawBodyChecks = new Map()) {
    super({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: false,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => badRequest(describeErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'body' || !metadata.metatype) return super.transform(value, metadata);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badRequest('The request body must be a JSON object');
    }
    const body = withoutInheritedKeys(value) as Record<string, unknown>;
    const legacyAnswer = this.rawBodyChecks.get(metadata.metatype)?.(body);
    if (legacyAnswer) throw badRequest(legacyAnswer.message, { error: legacyAnswer.error });
    return super.transform(body, metadata);
  }
}

/**
 * Keys such as `__proto__` or `constructor` are unknown fields like any other, but class-transformer
 * trips over them; they are dropped before it sees the body.
 */
function withoutInheritedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutInheritedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const clean: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!(key in Object.prototype)) clean[key] = withoutInheritedKeys(item);
  }
  return clean;
}

/** The pipe's errors as one message, each part naming its field by path. */
export function describeErrors(errors: ValidationError[], parent = ''): string {
  return errors
    .flatMap((error) => fieldMessages(error, parent))
    .filter((message, index, all) => all.indexOf(message) === index)
    .join('; ');
}

function fieldMessages(error: ValidationError, parent: string): string[] {
  const isIndex = /^[0-9]+$/.test(error.property);
  const field = isIndex ? `${parent}[${error.property}]` : parent ? `${parent}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((message) =>
    message.startsWith(`${error.property} `) ? `${field}${message.slice(error.property.length)}` : `${field}: ${message}`,
  );
  if (own.length > 0) return own;
  return (error.children ?? []).flatMap((child) => fieldMessages(child, field));
}
