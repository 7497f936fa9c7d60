import { TranscribeTask } from '@app/common';
import { invalidField } from './openai-errors';

export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];
export const GRANULARITIES = ['segment', 'word'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** The model name OpenAI's clients send by default; it means "the model this service would choose". */
export const OPENAI_WHISPER_MODEL = 'whisper-1';

/** An OpenAI transcription or translation request, read from its multipart fields. */
export interface OpenAiAudioRequest {
  task: TranscribeTask;
  /** Absent for whisper-1: the worker's default (WHISPER_DEFAULT_MODEL or the language's). */
  model?: string;
  language?: string;
  prompt?: string;
  temperature?: number;
  responseFormat: ResponseFormat;
  granularities: Granularity[];
  fileUrl?: string;
}

type FormFields = Record<string, unknown>;

/**
 * Reads the form as OpenAI does: `file` (or our `file_url`) and `model` required, the rest optional;
 * `timestamp_granularities` with or without `[]`, and only with verbose_json, as OpenAI refuses it
 * otherwise. A translation takes no language or granularities (OpenAI's route has none); they are
 * ignored there, as OpenAI ignores them.
 */
export function readAudioForm(task: TranscribeTask, fields: FormFields, hasFile: boolean): OpenAiAudioRequest {
  const fileUrl = single(fields, 'file_url');
  if (!hasFile && fileUrl === undefined) {
    throw invalidField("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
  }
  if (hasFile && fileUrl !== undefined) {
    throw invalidField("Send either 'file' or 'file_url', not both.", 'file_url');
  }
  const model = single(fields, 'model');
  if (model === undefined || model === '') {
    throw invalidField("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  }
  const responseFormat = single(fields, 'response_format') ?? 'json';
  if (!isOneOf(RESPONSE_FORMATS, responseFormat)) {
    throw invalidField(
      `Invalid 'response_format': '${responseFormat}'. Supported values are: ${RESPONSE_FORMATS.map((f) => `'${f}'`).join(', ')}.`,
      'response_format',
    );
  }
  const request: OpenAiAudioRequest = {
    task,
    responseFormat,
    granularities: [],
    ...(model === OPENAI_WHISPER_MODEL ? {} : { model }),
    ...(fileUrl === undefined ? {} : { fileUrl }),
  };
  const prompt = single(fields, 'prompt');
  if (prompt) request.prompt = prompt;
  const temperature = single(fields, 'temperature');
  if (temperature !== undefined && temperature !== '') request.temperature = readTemperature(temperature);
  if (task === 'translate') return request;

  const language = single(fields, 'language');
  if (language) request.language = language;
  request.granularities = readGranularities(fields);
  if (request.granularities.length > 0 && responseFormat !== 'verbose_json') {
    throw invalidField(
      "'timestamp_granularities' are only supported with response_format 'verbose_json'.",
      'timestamp_granularities',
    );
  }
  return request;
}

function readTemperature(value: string): number {
  const number = Number(value);
  if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value) || number < 0 || number > 1) {
    throw invalidField(`Invalid 'temperature': '${value}'. Expected a number between 0 and 1.`, 'temperature', 'decimal_above_max_value');
  }
  return number;
}

function readGranularities(fields: FormFields): Granularity[] {
  const values = [...many(fields, 'timestamp_granularities'), ...many(fields, 'timestamp_granularities[]')];
  for (const value of values) {
    if (!isOneOf(GRANULARITIES, value)) {
      throw invalidField(
        `Invalid 'timestamp_granularities': '${value}'. Supported values are: 'segment' and 'word'.`,
        'timestamp_granularities',
      );
    }
  }
  return [...new Set(values)] as Granularity[];
}

/** A field sent once; sent several times, OpenAI takes the last. */
function single(fields: FormFields, name: string): string | undefined {
  const values = many(fields, name);
  return values[values.length - 1];
}

function many(fields: FormFields, name: string): string[] {
  const value = fields[name];
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  for (const item of values) {
    if (typeof item !== 'string') throw invalidField(`'${name}' must be a plain form field.`, name);
  }
  return values as string[];
}

function isOneOf<T extends string>(allowed: readonly T[], value: string): value is T {
  return (allowed as readonly string[]).includes(value);
}
