import { IntersectionType, OmitType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { BooleanField, EnumField, TextField } from './fields';
import {
  AddAudioJobInput,
  CaptionJobInput,
  AudioConcatenateJobInput,
  AudioTrilhaSonoraJobInput,
  ComposeJobInput,
  ConcatVideoAudioJobInput,
  TrilhaSonoraJobInput,
  ConcatenateJobInput,
  Img2VidJobInput,
  TranscribeJobInput,
} from './job-inputs';
import { normalizeLanguage } from './languages';
import { WEBHOOK_URL } from './patterns';

/*
 * What clients POST to the API: a job's input plus fields that steer the API itself. The API-level
 * fields never reach the worker; `apiOptionsOf` splits them off.
 */

const AsyncField = () =>
  BooleanField({
    description: 'Answer 202 at once with the job id instead of holding the request until the job ends.',
    example: true,
    optional: true,
  });

const WebhookUrlField = () =>
  TextField({
    description: 'URL that receives the final response body, POSTed and signed, once the job ends.',
    example: 'https://hooks.example.com/api-gpu',
    optional: true,
    minLength: 1,
    maxLength: 2048,
    pattern: WEBHOOK_URL,
  });

export const REQUESTED_EXECUTORS = ['local', 'runpod', 'auto'] as const;

export type RequestedExecutor = (typeof REQUESTED_EXECUTORS)[number];

const ExecutorField = () =>
  EnumField({
    description:
      'Where the job runs: the local GPU nodes, RunPod serverless, or auto (the service decides); EXECUTOR_MODE decides when left out.',
    example: 'auto',
    optional: true,
    values: REQUESTED_EXECUTORS,
  });

/** The fields that steer the API, the same on every job route. */
class ApiRequestFields {
  @AsyncField()
  async?: boolean;

  @WebhookUrlField()
  webhook_url?: string;

  @ExecutorField()
  executor?: RequestedExecutor;
}

export class CaptionRequest extends IntersectionType(CaptionJobInput, ApiRequestFields) {}

export class CaptionStyleRequest extends IntersectionType(CaptionJobInput, ApiRequestFields) {}

// start_index belongs to the parts the API splits a large batch into, not to clients.
export class Img2VidRequest extends IntersectionType(
  OmitType(Img2VidJobInput, ['start_index'] as const),
  ApiRequestFields,
) {}

export class AddAudioRequest extends IntersectionType(AddAudioJobInput, ApiRequestFields) {}

export class TranscribeRequest extends IntersectionType(TranscribeJobInput, ApiRequestFields) {}

// Clients write languages as they come (pt-BR, pt_BR, PT; null or "" to detect, as the replaced
// service read them); the job gets the code Whisper knows, which the contract's rules then check.
// Applied here rather than on the job input, whose contract the worker checks as it stands.
Transform(({ value }: { value: unknown }) => normalizeLanguage(value))(TranscribeRequest.prototype, 'language');

export class ConcatenateRequest extends IntersectionType(ConcatenateJobInput, ApiRequestFields) {}

export class ConcatVideoAudioRequest extends IntersectionType(ConcatVideoAudioJobInput, ApiRequestFields) {}

export class TrilhaSonoraRequest extends IntersectionType(TrilhaSonoraJobInput, ApiRequestFields) {}

export class AudioTrilhaSonoraRequest extends IntersectionType(AudioTrilhaSonoraJobInput, ApiRequestFields) {}

export class AudioConcatenateRequest extends IntersectionType(AudioConcatenateJobInput, ApiRequestFields) {}

export class ComposeRequest extends IntersectionType(ComposeJobInput, ApiRequestFields) {}

export type JobRequest =
  | CaptionRequest
  | CaptionStyleRequest
  | Img2VidRequest
  | AddAudioRequest
  | TranscribeRequest
  | ConcatenateRequest
  | ConcatVideoAudioRequest
  | TrilhaSonoraRequest
  | AudioTrilhaSonoraRequest
  | AudioConcatenateRequest
  | ComposeRequest;

export interface ApiOptions {
  async: boolean;
  webhookUrl?: string;
  executor?: RequestedExecutor;
}

/** Splits a request into the worker's input and the fields meant for the API. */
export function apiOptionsOf<T extends JobRequest>(
  request: T,
): { input: Omit<T, 'async' | 'webhook_url' | 'executor'>; options: ApiOptions } {
  const { async, webhook_url, executor, ...input } = request;
  return { input, options: { async: async === true, webhookUrl: webhook_url, executor } };
}
