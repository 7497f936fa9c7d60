import type { MetadataStorage as TypeMetadataStorage } from 'class-transformer/types/MetadataStorage';
import { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { IS_IN, IS_POSITIVE, MAX, MIN } from 'class-validator';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import { ISchemaConverters } from 'class-validator-jsonschema/build/defaultConverters';
import { CAPTION_PRESETS } from './caption-presets';
import { CODE_POINT_LENGTH, EACH_ITEM_IS_OBJECT } from './fields';
import { JOB_INPUT_CLASSES } from './job-inputs';
import { JOB_RESULT_CLASSES } from './job-results';
import { JOB_OPERATIONS, JobOperation } from './operations';

// class-validator-jsonschema follows @Type to nested classes through class-transformer's metadata
// storage, which the package ships as cjs/storage.js with no type declaration beside it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: TypeMetadataStorage;
};

export const JOB_CONTRACT_SCHEMA_ID = 'urn:api-gpu:job-contract';

const DEFINITIONS = '#/definitions/';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Ref = { $ref: string };

export interface JobContractSchema {
  $schema: 'http://json-schema.org/draft-07/schema#';
  $id: string;
  operations: Record<JobOperation, Ref>;
  results: Record<JobOperation, Ref>;
  /** The caption style presets, for the worker to apply (`style.preset`). */
  captionPresets: Record<string, Json>;
  definitions: Record<string, Json>;
}

/*
 * The default converters give Min, Max, IsPositive and IsIn a `type` of their own ("number"),
 * and the last converter to run wins, so an IsInt field could come out as a number. Every field
 * declares its type with its own decorator; these only add the bound.
 */
const CONVERTERS: ISchemaConverters = {
  [MIN]: (meta: ValidationMetadata) => ({ minimum: meta.constraints[0] as number }),
  [MAX]: (meta: ValidationMetadata) => ({ maximum: meta.constraints[0] as number }),
  [IS_POSITIVE]: { exclusiveMinimum: 0 },
  [IS_IN]: (meta: ValidationMetadata) => ({ enum: meta.constraints[0] as Json[] }),
  // The items' $ref already requires objects.
  [EACH_ITEM_IS_OBJECT]: {},
  [CODE_POINT_LENGTH]: (meta: ValidationMetadata) => ({
    type: 'string',
    minLength: meta.constraints[0] as number,
    maxLength: meta.constraints[1] as number,
  }),
};

/**
 * The JSON Schema of every job input and result, generated from the class-validator metadata of the
 * contract classes. The worker validates its input against the checked-in copy of this.
 */
export function buildJobContractSchema(): JobContractSchema {
  const generated = validationMetadatasToSchemas({
    classTransformerMetadataStorage: defaultMetadataStorage,
    additionalConverters: CONVERTERS,
    refPointerPrefix: DEFINITIONS,
  }) as Record<string, Json>;
  const operations = refsTo(JOB_INPUT_CLASSES);
  const results = refsTo(JOB_RESULT_CLASSES);
  const roots = [...Object.values(operations), ...Object.values(results)];
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: JOB_CONTRACT_SCHEMA_ID,
    operations,
    results,
    captionPresets: CAPTION_PRESETS,
    definitions: sortKeys(reachableDefinitions(generated, roots)) as Record<string, Json>,
  };
}

/** The schema file's exact text: 2-space indent, trailing newline. */
export function renderJobContractSchema(schema: JobContractSchema = buildJobContractSchema()): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

function refsTo(classes: Record<JobOperation, new () => object>): Record<JobOperation, Ref> {
  return Object.fromEntries(
    JOB_OPERATIONS.map((operation) => [operation, { $ref: DEFINITIONS + classes[operation].name }]),
  ) as Record<JobOperation, Ref>;
}

/**
 * The metadata storage is global: anything else decorated with class-validator in the same process
 * is in it too. Only what the contract refers to, directly or not, goes into the file.
 */
function reachableDefinitions(all: Record<string, Json>, roots: Ref[]): Record<string, Json> {
  const kept: Record<string, Json> = {};
  const pending = roots.map((ref) => ref.$ref);
  for (let ref = pending.pop(); ref !== undefined; ref = pending.pop()) {
    const name = ref.slice(DEFINITIONS.length);
    if (name in kept) continue;
    const definition = all[name];
    if (definition === undefined) {
      throw new Error(`${ref} has no definition: does ${name} have validation decorators?`);
    }
    kept[name] = definition;
    pending.push(...refsIn(definition));
  }
  return kept;
}

function refsIn(value: Json): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string' ? [child] : refsIn(child),
  );
}

/** Object keys in code-point order at every depth, so the file only changes when the contract does. */
function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}
