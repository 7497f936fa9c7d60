import type { JobRecord } from '../jobs/job-record';
import { JobStatus } from '../jobs/job-status';

/** What a second on each executor costs; an executor without a price costs nothing. */
export interface UsagePrices {
  runpodPerS?: number;
  localGpuPerS?: number;
}

/**
 * One ended job in the usage ledger. Every ended job that ran somewhere is recorded, whatever its
 * outcome: `gpu_seconds` are the seconds it held a GPU executor, which is what is billed and what
 * budgets count (RunPod bills its `executionTime` for failed and cancelled jobs too; a node's slot
 * was just as busy). On RunPod they are RunPod's billed `executionTime`; on a node the worker's own
 * run time, or, when the worker reported none (the job failed or was cancelled), the time from its
 * start to its end. A job cancelled before it started is recorded with nothing used. A split
 * img2vid batch is not an entry: its parts, each a job that ran, are.
 */
export interface UsageEntry {
  job_id: string;
  client: string;
  operation: string;
  executor: string;
  node: string | null;
  status: string;
  ended_at: string;
  media_in_s: number;
  media_out_s: number;
  images: number;
  /** The worker's run time split by the device that did the work (its `usage`), 0 when not reported. */
  device_gpu_s: number;
  device_cpu_s: number;
  encoder: string | null;
  whisper_device: string | null;
  /** RunPod's billed executionTime, in seconds; 0 for a job that did not run there. */
  runpod_execution_s: number;
  gpu_seconds: number;
  cost: number;
}

/** The figures of an entry that add up, in the ledger's aggregates and GET /usage. */
export const USAGE_METRICS = [
  'jobs',
  'completed',
  'failed',
  'timed_out',
  'cancelled',
  'media_in_s',
  'media_out_s',
  'images',
  'device_gpu_s',
  'device_cpu_s',
  'runpod_execution_s',
  'gpu_seconds',
  'cost',
] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];
export type UsageFigures = Record<UsageMetric, number>;

/**
 * The client of a job with none recorded (accepted before clients had names): not a name a keys
 * file may give a client, so it is never mistaken for one.
 */
export const UNNAMED_CLIENT = '(none)';

interface WorkerUsage {
  run_s?: unknown;
  gpu_s?: unknown;
  cpu_s?: unknown;
  media_in_s?: unknown;
  media_out_s?: unknown;
  images?: unknown;
}

/**
 * The ledger entry of an ended job, or null for what is not billed on its own (a split batch,
 * whose parts are). `record` is the record as it ended.
 */
export function usageEntryOf(record: JobRecord, prices: UsagePrices, client?: string): UsageEntry | null {
  if (record.executor === 'split' || record.parts) return null;
  const output = record.output ?? {};
  const used = (output.usage ?? {}) as WorkerUsage;
  const runpodS = record.executor === 'runpod' ? (record.remoteTimings?.executionTime ?? 0) / 1000 : 0;
  const ranS = figure(used.run_s) ?? wallSeconds(record);
  const gpuSeconds = record.executor === 'runpod' ? runpodS : ranS;
  const price = (record.executor === 'runpod' ? prices.runpodPerS : prices.localGpuPerS) ?? 0;
  const transcript = output.transcript as { device?: unknown } | undefined;
  const whisperDevice = text(output.device) ?? text(transcript?.device);
  return {
    job_id: record.id,
    client: client ?? record.client ?? UNNAMED_CLIENT,
    operation: record.operation,
    executor: record.executor,
    node: record.node ?? null,
    status: record.status,
    ended_at: record.endedAt ?? new Date().toISOString(),
    media_in_s: figure(used.media_in_s) ?? 0,
    media_out_s: figure(used.media_out_s) ?? 0,
    images: figure(used.images) ?? 0,
    device_gpu_s: figure(used.gpu_s) ?? 0,
    device_cpu_s: figure(used.cpu_s) ?? 0,
    encoder: text(output.encoder),
    whisper_device: whisperDevice,
    runpod_execution_s: round(runpodS),
    gpu_seconds: round(gpuSeconds),
    cost: round(gpuSeconds * price, 6),
  };
}

/** How an entry adds to the aggregates: one job of its outcome, and its figures. */
export function figuresOf(entry: UsageEntry): UsageFigures {
  const outcome = OUTCOME_METRIC[entry.status];
  return {
    jobs: 1,
    completed: outcome === 'completed' ? 1 : 0,
    failed: outcome === 'failed' ? 1 : 0,
    timed_out: outcome === 'timed_out' ? 1 : 0,
    cancelled: outcome === 'cancelled' ? 1 : 0,
    media_in_s: entry.media_in_s,
    media_out_s: entry.media_out_s,
    images: entry.images,
    device_gpu_s: entry.device_gpu_s,
    device_cpu_s: entry.device_cpu_s,
    runpod_execution_s: entry.runpod_execution_s,
    gpu_seconds: entry.gpu_seconds,
    cost: entry.cost,
  };
}

export function emptyFigures(): UsageFigures {
  return Object.fromEntries(USAGE_METRICS.map((metric) => [metric, 0])) as UsageFigures;
}

const OUTCOME_METRIC: Record<string, UsageMetric> = {
  [JobStatus.Completed]: 'completed',
  [JobStatus.Failed]: 'failed',
  [JobStatus.TimedOut]: 'timed_out',
  [JobStatus.Cancelled]: 'cancelled',
};

function wallSeconds(record: JobRecord): number {
  if (!record.startedAt || !record.endedAt) return 0;
  return Math.max(0, Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000 || 0;
}

function figure(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
