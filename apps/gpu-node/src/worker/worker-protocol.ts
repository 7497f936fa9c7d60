/**
 * The Python worker's local protocol (`python -m api_gpu_worker.local`): one JSON object per line,
 * jobs and cancels on its stdin, these messages on its stdout.
 */

export interface WorkerJobError {
  code: string;
  message: string;
  field?: string;
  retryable: boolean;
}

export type WorkerMessage =
  | {
      type: 'ready';
      encoder: string;
      nvenc: boolean;
      /** Why `FFMPEG_ENCODER=auto` settled for libx264 on this machine; null or absent otherwise. */
      encoder_fallback?: string | null;
      whisper_device: string;
      /** Why `WHISPER_DEVICE=auto` runs whisper on the CPU; null or absent otherwise. */
      whisper_fallback?: string | null;
      models: string[];
      /** Names served by another model (WHISPER_MODEL_ALIASES), each with the model that serves it. */
      model_aliases?: Record<string, string>;
      warm_models?: string[];
      gpu?: string | null;
      pid: number;
    }
  | { type: 'progress'; id: string; percent: number }
  | { type: 'result'; id: string; output: Record<string, unknown> }
  | { type: 'error'; id: string; error: WorkerJobError }
  | { type: 'cancelled'; id: string }
  /**
   * After each job: the whisper models the worker now holds loaded. With `recycling` (why), sent
   * before the job's outcome: the worker exits after that outcome, to be replaced.
   */
  | { type: 'state'; warm_models: string[]; recycling?: string };

/** What a worker says about itself once it is ready. */
export interface WorkerCapabilities {
  pid: number;
  encoder: string;
  nvenc: boolean;
  encoderFallback: string | null;
  whisperDevice: string;
  whisperFallback: string | null;
  gpu: string | null;
  models: string[];
  modelAliases: Record<string, string>;
  warmModels: string[];
}

/** How one job ended on a worker that stayed alive. */
export type JobOutcome =
  | { kind: 'result'; output: Record<string, unknown> }
  | { kind: 'error'; error: WorkerJobError }
  | { kind: 'cancelled' };

const MESSAGE_TYPES = new Set(['ready', 'progress', 'result', 'error', 'cancelled', 'state']);

/** Parses one stdout line; anything that is not a protocol message is returned as null. */
export function parseWorkerMessage(line: string): WorkerMessage | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const type = (parsed as { type?: unknown }).type;
  return typeof type === 'string' && MESSAGE_TYPES.has(type) ? (parsed as WorkerMessage) : null;
}

export function capabilitiesFrom(ready: Extract<WorkerMessage, { type: 'ready' }>): WorkerCapabilities {
  return {
    pid: ready.pid,
    encoder: ready.encoder,
    nvenc: ready.nvenc,
    encoderFallback: ready.encoder_fallback ?? null,
    whisperDevice: ready.whisper_device,
    whisperFallback: ready.whisper_fallback ?? null,
    gpu: ready.gpu ?? null,
    models: ready.models ?? [],
    modelAliases: ready.model_aliases ?? {},
    warmModels: ready.warm_models ?? [],
  };
}
