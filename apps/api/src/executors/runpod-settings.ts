import { InvalidConfigurationError, JobOperation } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { ApiEnv } from '../config/api-env';

export type ExecutorMode = 'local' | 'runpod' | 'hybrid';

export interface RunPodSettings {
  apiKey: string;
  apiBase: string;
  endpointId: string;
  whisperEndpointId: string;
  /** `stock`: the whisper endpoint runs RunPod's worker-faster_whisper, not this project's worker. */
  whisperWorker: 'project' | 'stock';
  executionTimeoutS: number;
  maxWaitS: number;
  /** RUNPOD_IDLE_TIMEOUT: the endpoint's own setting, as the operator states it; only reported. */
  idleTimeoutS: number | null;
  httpTimeoutMs: number;
}

export interface ExecutorSettings {
  mode: ExecutorMode;
  burstQueueThreshold: number;
  /** img2vid batches of more images than this are split into `maxWorkers` parts. */
  splitThreshold: number;
  maxWorkers: number;
  /** Null when RunPod is not configured: jobs run on the local nodes only. */
  runpod: RunPodSettings | null;
  /** WHISPER_DEFAULT_MODEL: the model of a transcription that names none (else chosen by language). */
  whisperDefaultModel: string | null;
}

/** The executors' settings; a RunPod mode without a key or an endpoint stops the API at start. */
export function executorSettingsFrom(config: ConfigService<ApiEnv, true>): ExecutorSettings {
  const apiKey = config.get('RUNPOD_API_KEY', { infer: true });
  const endpointId = config.get('RUNPOD_ENDPOINT_ID', { infer: true });
  const mode = config.get('EXECUTOR_MODE', { infer: true }) ?? (apiKey ? 'hybrid' : 'local');
  const problems: string[] = [];
  if (apiKey && !endpointId) problems.push('RUNPOD_ENDPOINT_ID is required when RUNPOD_API_KEY is set');
  if (mode !== 'local' && !apiKey) problems.push(`RUNPOD_API_KEY is required when EXECUTOR_MODE is ${mode}`);
  if (problems.length > 0) throw new InvalidConfigurationError(problems);
  const runpod: RunPodSettings | null =
    apiKey && endpointId
      ? {
          apiKey,
          apiBase: config.get('RUNPOD_API_BASE', { infer: true }).replace(/\/+$/, ''),
          endpointId,
          whisperEndpointId: config.get('RUNPOD_WHISPER_ENDPOINT_ID', { infer: true }) ?? endpointId,
          whisperWorker: config.get('RUNPOD_WHISPER_WORKER', { infer: true }),
          ...runpodTimeoutsFrom(config),
          idleTimeoutS: config.get('RUNPOD_IDLE_TIMEOUT', { infer: true }) ?? null,
          httpTimeoutMs: Math.round(config.get('RUNPOD_HTTP_TIMEOUT_S', { infer: true }) * 1000),
        }
      : null;
  return {
    mode,
    burstQueueThreshold: config.get('BURST_QUEUE_THRESHOLD', { infer: true }),
    splitThreshold: config.get('IMG2VID_SPLIT_THRESHOLD', { infer: true }),
    maxWorkers: config.get('MAX_WORKERS', { infer: true }),
    runpod,
    whisperDefaultModel: config.get('WHISPER_DEFAULT_MODEL', { infer: true })?.trim() ?? null,
  };
}

/** Seconds between two polls of the replaced service, whose POLLING_MAX_ATTEMPTS counted them. */
export const LEGACY_POLL_INTERVAL_S = 8;

/** Our variables first, then the replaced service's names for the same settings, then the defaults. */
export function runpodTimeoutsFrom(config: ConfigService<ApiEnv, true>): { executionTimeoutS: number; maxWaitS: number } {
  const attempts = config.get('POLLING_MAX_ATTEMPTS', { infer: true });
  return {
    executionTimeoutS:
      config.get('RUNPOD_EXECUTION_TIMEOUT', { infer: true }) ?? config.get('RUNPOD_MAX_TIMEOUT', { infer: true }) ?? 600,
    maxWaitS:
      config.get('RUNPOD_MAX_WAIT_S', { infer: true }) ??
      (attempts === undefined ? undefined : attempts * LEGACY_POLL_INTERVAL_S) ??
      3600,
  };
}

/** The endpoint an operation runs on. */
export function endpointFor(settings: RunPodSettings, operation: JobOperation): string {
  return operation === JobOperation.Transcribe ? settings.whisperEndpointId : settings.endpointId;
}

/** Whether jobs of `operation` on RunPod speak the stock worker-faster_whisper's input and output. */
export function usesStockWhisper(settings: RunPodSettings, operation: JobOperation): boolean {
  return operation === JobOperation.Transcribe && settings.whisperWorker === 'stock';
}

export const EXECUTOR_SETTINGS = Symbol('EXECUTOR_SETTINGS');
