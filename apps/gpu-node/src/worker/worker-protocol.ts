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
      whisper_device: string;
      models: string[];
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
  whisperDevice: string;
  gpu: string | null;
  models: string[];
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
    whisperDevice: ready.whisper_device,
    gpu: ready.gpu ?? null,
    models: ready.models ?? [],
    warmModels: ready.warm_models ?? [],
  };
}
