import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsPositive,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  buildMessage,
} from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { ContractPattern } from './patterns';

/** JSON Schema keyword carrying a pattern's rule in words, read by the Python worker. */
export const PATTERN_RULE_KEYWORD = 'x-rule';

/*
 * Each field of the contract is declared once, with one of these decorators, which apply the
 * class-validator rules (what the API and the gpu-node check, and what the JSON Schema for the
 * worker is generated from), the Swagger documentation and the schema's description from the same
 * numbers, so the three cannot drift apart.
 */

type ClassRef = () => new () => object;

interface FieldDoc<T> {
  description: string;
  example: T;
  /** May be left out; when present it must be valid (null is not "absent"). */
  optional?: boolean;
}

export const CODE_POINT_LENGTH = 'codePointLength';

/**
 * Length in Unicode code points, which is what JSON Schema's minLength/maxLength count in every
 * implementation. class-validator's own Length counts "❤️" (a character plus a variation selector)
 * as one, which Python's jsonschema would count as two.
 */
export function CodePointLength(min: number, max: number): PropertyDecorator {
  return ValidateBy({
    name: CODE_POINT_LENGTH,
    constraints: [min, max],
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'string') return false;
        const length = [...value].length;
        return length >= min && length <= max;
      },
      defaultMessage: buildMessage(
        (each) => `${each}$property must be between ${min} and ${max} characters long`,
      ),
    },
  });
}

export const EACH_ITEM_IS_OBJECT = 'eachItemIsObject';

/**
 * ValidateNested walks into an item that is itself an array instead of refusing it, and finds
 * nothing wrong with `[]`; JSON Schema refuses such an item, at its own index. validateJobInput
 * reports this constraint item by item for the same reason.
 */
export function EachItemIsObject(): PropertyDecorator {
  return ValidateBy({
    name: EACH_ITEM_IS_OBJECT,
    validator: {
      validate: (value: unknown) =>
        Array.isArray(value) &&
        value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item)),
      defaultMessage: buildMessage(() => 'every item of $property must be an object'),
    },
  });
}

/** Absent is allowed; null is not, as in JSON Schema (where IsOptional would let null through). */
function OptionalUnlessPresent(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/**
 * Swagger, schema description and optionality; the caller adds the validation rules. `schema`
 * adds keywords to the generated JSON Schema, such as the plain-words rule of a pattern.
 */
function documented<T>(
  doc: FieldDoc<T>,
  swagger: ApiPropertyOptions,
  schema: Record<string, unknown> = {},
): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      ...swagger,
      description: doc.description,
      example: doc.example,
      required: !doc.optional,
    } as ApiPropertyOptions),
    JSONSchema({ description: doc.description, examples: [doc.example], ...schema }),
    ...(doc.optional ? [OptionalUnlessPresent()] : []),
  );
}

export function TextField(
  doc: FieldDoc<string> & { minLength?: number; maxLength?: number; pattern?: ContractPattern },
): PropertyDecorator {
  const { minLength, maxLength, pattern } = doc;
  const decorators = [
    // The worker reports a pattern mismatch with the same words as class-validator, not the regex.
    documented(
      doc,
      { type: String, minLength, maxLength, pattern: pattern?.regex.source },
      pattern ? { [PATTERN_RULE_KEYWORD]: pattern.rule } : {},
    ),
    IsString(),
  ];
  if (maxLength !== undefined) decorators.push(CodePointLength(minLength ?? 0, maxLength));
  if (pattern) decorators.push(Matches(pattern.regex, { message: `$property ${pattern.rule}` }));
  return applyDecorators(...decorators);
}

export function IntegerField(
  doc: FieldDoc<number> & { minimum?: number; maximum?: number; oneOf?: readonly number[] },
): PropertyDecorator {
  const { minimum, maximum, oneOf } = doc;
  const decorators = [
    documented(doc, { type: 'integer', minimum, maximum, enum: oneOf && [...oneOf] }),
    IsInt(),
  ];
  if (minimum !== undefined) decorators.push(Min(minimum));
  if (maximum !== undefined) decorators.push(Max(maximum));
  if (oneOf) decorators.push(IsIn([...oneOf]));
  return applyDecorators(...decorators);
}

/** A finite number within [minimum, maximum], or within (0, maximum] when `positive`. */
export function NumberField(
  doc: FieldDoc<number> & { maximum: number } & ({ minimum: number } | { positive: true }),
): PropertyDecorator {
  const lower =
    'positive' in doc
      ? { swagger: { minimum: 0, exclusiveMinimum: true }, validator: IsPositive() }
      : { swagger: { minimum: doc.minimum }, validator: Min(doc.minimum) };
  return applyDecorators(
    documented(doc, { type: Number, ...lower.swagger, maximum: doc.maximum }),
    IsNumber(),
    lower.validator,
    Max(doc.maximum),
  );
}

export function BooleanField(doc: FieldDoc<boolean>): PropertyDecorator {
  return applyDecorators(documented(doc, { type: Boolean }), IsBoolean());
}

export function EnumField<T extends string>(
  doc: FieldDoc<T> & { values: readonly T[] },
): PropertyDecorator {
  return applyDecorators(
    documented(doc, { type: String, enum: [...doc.values] }),
    IsString(),
    IsIn([...doc.values]),
  );
}

export function NestedField(doc: FieldDoc<object> & { type: ClassRef }): PropertyDecorator {
  return applyDecorators(
    documented(doc, { type: doc.type }),
    IsObject(),
    ValidateNested(),
    Type(doc.type),
  );
}

export function NestedArrayField(
  doc: FieldDoc<object[]> & { type: ClassRef; minItems?: number; maxItems?: number },
): PropertyDecorator {
  const { minItems, maxItems } = doc;
  const decorators = [
    documented(doc, { type: doc.type, isArray: true, minItems, maxItems }),
    IsArray(),
    EachItemIsObject(),
    ValidateNested({ each: true }),
    Type(doc.type),
  ];
  if (minItems !== undefined) decorators.push(ArrayMinSize(minItems));
  if (maxItems !== undefined) decorators.push(ArrayMaxSize(maxItems));
  return applyDecorators(...decorators);
}
