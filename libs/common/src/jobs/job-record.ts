import type { JobOperation } from '../contract/operations';
import type { JobStatus } from './job-status';

/** Where a job runs; `split` is a large img2vid batch run as parts, each on its own executor. */
export type ExecutorName = 'local' | 'runpod' | 'split';

/** One part of a split img2vid batch: its own job, running `count` images from `start`. */
export interface JobPart {
  id: string;
  start: number;
  count: number;
  executor: ExecutorName;
}

/** A failure as the client sees it: the contract's error shape, plus the field when known. */
export interface JobFailure {
  error: string;
  message: string;
  field?: string;
  /**
   * The worker's error code (`invalid_input`, `invalid_media`, `fetch_failed`, `encoder_failed`, …),
   * when the failure came from the worker. It tells a failure caused by the request from one of the
   * service's own, where `error` alone cannot (a transcription keeps "Transcription failed" for both).
   */
  code?: string;
}

/** Worker error codes that mean the request itself was at fault: never retried, answered as a 4xx. */
export const INPUT_FAILURE_CODES: readonly string[] = ['invalid_input', 'invalid_media', 'fetch_failed'];

/** Whether a job failed because of what the client sent (its input, its media, its URLs). */
export function isInputFailure(failure: JobFailure): boolean {
  return failure.error === 'Bad Request' || (failure.code !== undefined && INPUT_FAILURE_CODES.includes(failure.code));
}

/**
 * Everything known about one job, kept in Redis under `api-gpu:job:<id>` so that any API process
 * can answer for it and nothing lives only in memory. Times are ISO strings.
 */
export interface JobRecord {
  id: string;
  operation: JobOperation;
  status: JobStatus;
  /** The worker's input (the contract's fields, without `operation`). */
  input: Record<string, unknown>;
  executor: ExecutorName;
  executorReason?: string;
  /** The name of the client (API_KEYS_FILE, or `key-<n>` of X_API_KEY) that submitted it; parts inherit it. */
  client?: string;
  node?: string;
  /** Seconds the job may run once started (libs/common/src/limits); past them it ends TIMED_OUT. */
  deadlineS?: number;
  /** 0 to 100. */
  progress: number;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  /** The worker's result, once completed. */
  output?: Record<string, unknown>;
  failure?: JobFailure;
  webhookUrl?: string;
  /** Delivery outcome of the webhook, once it has been tried for the last time. */
  webhook?: { status: 'delivered' | 'failed'; attempts: number; lastError?: string };
  /** The executor's own id of the job (RunPod's job id), so polling resumes after a restart. */
  remoteId?: string;
  /** RunPod's own `delayTime` and `executionTime` (ms) of a job it ran, which the response's stats report. */
  remoteTimings?: { delayTime: number; executionTime: number };
  /** The parts of a split batch, in input order. */
  parts?: JobPart[];
  /** On a part: the split job it belongs to. */
  parentId?: string;
}

/** Fields a transition may set along with the status. */
export type JobUpdate = Partial<Omit<JobRecord, 'id' | 'operation' | 'createdAt' | 'input'>>;
