import {
  JobEnder,
  JobFailure,
  JobRecord,
  JobStatus,
  JobStore,
  JobUpdate,
  RunPodJobData,
  TerminalStatus,
  errorReason,
  failureFromWorker,
  isTerminal,
  serviceFailure,
  TIMED_OUT_CODE,
} from '@app/common';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { ExecutorReason } from './executor-reasons';
import { LocalExecutor } from './local.executor';
import { RUNPOD_CLIENT, RunPodCallError, RunPodClient, RunPodStatus } from './runpod-client';
import { RUNPOD_QUEUE_BY_OPERATION, RunPodQueueByOperation } from './runpod-queues';
import { EXECUTOR_SETTINGS, ExecutorSettings, RunPodSettings, endpointFor, usesStockWhisper } from './runpod-settings';
import { readStockOutput, stockWhisperInput, transcribeResult, transcriptUploads } from './stock-whisper';
import { StorageService } from '../storage/storage.service';

/** RunPod jobs one process follows at once per queue: each is mostly waiting between two polls. */
const DISPATCH_CONCURRENCY = 50;
/** The replaced service's polling: 2 s, growing ×1.5, at most 8 s apart. */
const FIRST_POLL_MS = 2000;
const POLL_GROWTH = 1.5;
const MAX_POLL_MS = 8000;
/** RunPod refuses a `ttl` below 10 s. */
const MIN_TTL_S = 10;
/** Bull's own message when a job exceeded maxStalledCount. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/** What the dispatcher returns to Bull, kept as the job's return value. */
export type DispatchOutcome =
  | { ended: JobStatus }
  | { skipped: string }
  | { movedTo: 'local' }
  | { handedBack: true };

/**
 * The RunPod executor's consumer, shaped like a GPU node whose worker is RunPod's HTTP API: it takes
 * a job from a RunPod queue, submits it (POST /run), polls GET /status with growing gaps, maps
 * RunPod's states onto the record, and ends the job through JobEnder. Whatever ends the job first
 * on our side (a client's cancel, our deadline RUNPOD_MAX_WAIT_S, the record expiring) is passed on
 * with POST /cancel. Bull's lock keeps one dispatcher on a job; if that process dies, the stalled-job
 * check gives the job to another, which resumes polling from the RunPod id on the record.
 */
@Injectable()
export class RunPodDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RunPodDispatcher.name);
  private readonly settings: RunPodSettings | null;
  private readonly client: RunPodClient | null;
  private stopping = false;
  private readonly wakeUps = new Set<() => void>();

  constructor(
    @Inject(RUNPOD_QUEUE_BY_OPERATION) private readonly queues: RunPodQueueByOperation,
    @Inject(EXECUTOR_SETTINGS) executorSettings: ExecutorSettings,
    private readonly store: JobStore,
    private readonly ender: JobEnder,
    private readonly storage: StorageService,
    private readonly local: LocalExecutor,
    @Optional() @Inject(RUNPOD_CLIENT) client?: RunPodClient,
  ) {
    this.settings = executorSettings.runpod;
    this.client = this.settings ? (client ?? new RunPodClient(this.settings)) : null;
  }

  onApplicationBootstrap(): void {
    if (!this.client) return;
    for (const queue of Object.values(this.queues)) {
      queue.on('failed', (job: Job<RunPodJobData>, error: Error) => void this.onBullFailure(job, error));
      queue.on('error', (error: Error) => this.logger.warn(`queue ${queue.name}: ${error.message}`));
      void queue.process(DISPATCH_CONCURRENCY, (job: Job<RunPodJobData>) => this.dispatch(job));
    }
  }

  /** Stops taking jobs and gives the ones it follows back, unlocked, for the next dispatcher to resume. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakeUps) wake();
    if (!this.client) return;
    await Promise.all(
      Object.values(this.queues).map((queue: Queue) => queue.pause(true, true).catch(() => undefined)),
    );
  }

  async dispatch(job: Job<RunPodJobData>): Promise<DispatchOutcome> {
    const { client, settings } = this.require();
    const jobId = job.data.jobId;
    if (this.stopping) return this.handBack(job);
    const record = await this.store.get(jobId);
    if (!record) {
      // Expired or removed: nobody will ever ask for this job.
      if (job.data.remote) await this.cancelOn(job.data.remote.endpoint, job.data.remote.remoteId);
      return { skipped: 'no record' };
    }
    const endpoint = endpointFor(settings, record.operation);
    if (isTerminal(record.status)) {
      if (record.remoteId) await this.cancelOn(endpoint, record.remoteId);
      return { skipped: record.status };
    }
    let remoteId = record.remoteId;
    if (!remoteId) {
      let accepted: RunPodStatus;
      try {
        accepted = await client.run(endpoint, this.inputOf(settings, record), {
          executionTimeoutMs: executionTimeoutS(settings.executionTimeoutS, record.deadlineS) * 1000,
          ttlMs: Math.max(settings.maxWaitS, MIN_TTL_S) * 1000,
        });
        if (typeof accepted?.id !== 'string' || !accepted.id) {
          throw new RunPodCallError('RunPod POST /run answered without a job id', 502);
        }
      } catch (error) {
        return this.refused(job, record, error);
      }
      remoteId = accepted.id;
      await job.update({ ...job.data, remote: { endpoint, remoteId } });
      if ((await this.store.updateActive(jobId, { remoteId })) !== 'applied') {
        // Cancelled (or removed) while RunPod was taking it.
        await this.cancelOn(endpoint, remoteId);
        return { skipped: 'ended while RunPod took it' };
      }
    }
    return this.follow(job, endpoint, remoteId);
  }

  private async follow(job: Job<RunPodJobData>, endpoint: string, remoteId: string): Promise<DispatchOutcome> {
    const { client, settings } = this.require();
    const jobId = job.data.jobId;
    let delay = FIRST_POLL_MS;
    for (;;) {
      await this.pause(delay);
      if (this.stopping) return this.handBack(job);
      delay = Math.min(delay * POLL_GROWTH, MAX_POLL_MS);
      const record = await this.store.get(jobId);
      if (!record || isTerminal(record.status)) {
        // Gone, or ended on our side (a client's cancel) while RunPod may still be running it.
        await this.cancelOn(endpoint, remoteId);
        return record ? { ended: record.status } : { skipped: 'record gone' };
      }
      if (Date.now() - Date.parse(record.createdAt) > settings.maxWaitS * 1000) {
        const failure = serviceFailure(record.operation, `The job did not end on RunPod within RUNPOD_MAX_WAIT_S (${settings.maxWaitS} s)`);
        if ((await this.ender.end(record, JobStatus.TimedOut, { failure })) === 'applied') await this.cancelOn(endpoint, remoteId);
        return { ended: JobStatus.TimedOut };
      }
      let status: RunPodStatus;
      try {
        status = await client.status(endpoint, remoteId);
      } catch (error) {
        if (error instanceof RunPodCallError && error.status === 404) {
          return this.end(record, JobStatus.Failed, { failure: serviceFailure(record.operation, 'RunPod no longer knows this job') });
        }
        this.logger.warn(`job ${jobId}: RunPod status not read: ${errorReason(error)}`);
        continue;
      }
      const outcome = await this.observe(record, status);
      if (outcome) return outcome;
    }
  }

  /** Writes what RunPod says about the job onto its record; an outcome once the job has ended. */
  private async observe(record: JobRecord, status: RunPodStatus): Promise<DispatchOutcome | null> {
    const remoteTimings = {
      delayTime: numberOr(status.delayTime, 0),
      executionTime: numberOr(status.executionTime, 0),
    };
    const startedAt = record.startedAt ?? new Date().toISOString();
    switch (status.status) {
      case 'IN_QUEUE':
        return null;
      case 'IN_PROGRESS': {
        const percent = (status.output as { percent?: unknown } | undefined)?.percent;
        const progress = typeof percent === 'number' ? Math.max(record.progress, Math.min(99, percent)) : record.progress;
        if (record.status !== JobStatus.InProgress || progress !== record.progress) {
          await this.store.updateActive(record.id, { status: JobStatus.InProgress, startedAt, remoteTimings, progress });
        }
        return null;
      }
      case 'COMPLETED': {
        let output: Record<string, unknown>;
        try {
          output = await this.resultOf(record, status.output);
        } catch (error) {
          const failure =
            error instanceof WorkerFailure ? failureOf(record, error.message) : serviceFailure(record.operation, errorReason(error));
          return this.end(record, statusOfFailure(failure), { startedAt, remoteTimings, failure });
        }
        return this.end(record, JobStatus.Completed, { startedAt, remoteTimings, output, progress: 100 });
      }
      case 'FAILED': {
        const failure = failureOf(record, status.error);
        return this.end(record, statusOfFailure(failure), { startedAt, remoteTimings, failure });
      }
      case 'CANCELLED':
        return this.end(record, JobStatus.Cancelled, { remoteTimings });
      case 'TIMED_OUT':
        return this.end(record, JobStatus.TimedOut, {
          startedAt,
          remoteTimings,
          failure: serviceFailure(
            record.operation,
            `RunPod stopped the job after its execution timeout (${executionTimeoutS(this.require().settings.executionTimeoutS, record.deadlineS)} s)`,
          ),
        });
      default:
        this.logger.warn(`job ${record.id}: RunPod reported an unknown status ${String(status.status)}`);
        return null;
    }
  }

  private async end(record: JobRecord, status: TerminalStatus, update: JobUpdate): Promise<DispatchOutcome> {
    await this.ender.end(record, status, update);
    return { ended: status };
  }

  /**
   * RunPod did not take the job (after the client's own retries): the local nodes take it when the
   * client named no executor, else it fails saying why.
   */
  private async refused(job: Job<RunPodJobData>, record: JobRecord, error: unknown): Promise<DispatchOutcome> {
    if (job.data.failover) {
      const reason = ExecutorReason.FailoverFromRunPod;
      this.logger.warn(`job ${record.id}: RunPod refused it (${errorReason(error)}); handing it to the local nodes`);
      if ((await this.store.updateActive(record.id, { executor: 'local', executorReason: reason })) !== 'applied') {
        return { skipped: 'ended while RunPod refused it' };
      }
      await this.local.submit({ ...record, executor: 'local', executorReason: reason });
      return { movedTo: 'local' };
    }
    return this.end(record, JobStatus.Failed, {
      failure: serviceFailure(record.operation, `RunPod did not accept the job: ${errorReason(error)}`),
    });
  }

  /** A job Bull gave up on (its attempts spent, or stalled too often): its record must end too. */
  private async onBullFailure(job: Job<RunPodJobData> | null, error: Error): Promise<void> {
    if (!job) return;
    const retried = error?.message !== STALLED_TOO_OFTEN && job.attemptsMade < (job.opts.attempts ?? 1);
    if (retried) return;
    const record = await this.store.get(job.data.jobId).catch(() => null);
    if (!record || isTerminal(record.status)) return;
    this.logger.warn(`job ${record.id}: the RunPod dispatcher gave up on it: ${error?.message}`);
    await this.ender
      .end(record, JobStatus.Failed, { failure: serviceFailure(record.operation, `The job could not be followed on RunPod: ${error?.message}`) })
      .catch(() => undefined);
  }

  /**
   * Leaves the job, unlocked, in Bull's active list: the next stalled-job check (in any process)
   * puts it back in the queue, and the dispatcher that takes it resumes from the record's RunPod id.
   * Bull's completion of it here is skipped, as it must not end the job.
   */
  private async handBack(job: Job<RunPodJobData>): Promise<DispatchOutcome> {
    await job.releaseLock().catch(() => undefined);
    job.moveToCompleted = () => Promise.resolve(null);
    return { handedBack: true };
  }

  private inputOf(settings: RunPodSettings, record: JobRecord): Record<string, unknown> {
    return usesStockWhisper(settings, record.operation)
      ? stockWhisperInput(record.input)
      : { operation: record.operation, ...record.input, ...(record.deadlineS ? { deadline_s: record.deadlineS } : {}) };
  }

  /** The job's result: the project worker's output as is; the stock whisper's made into our files. */
  private async resultOf(record: JobRecord, output: unknown): Promise<Record<string, unknown>> {
    if (usesStockWhisper(this.require().settings, record.operation)) {
      const transcript = readStockOutput(output);
      const urls = await this.storage.putResults(String(record.input.path), transcriptUploads(transcript));
      return transcribeResult(transcript, urls);
    }
    if (typeof output !== 'object' || output === null || Array.isArray(output)) {
      throw new Error('RunPod reported the job completed without a result');
    }
    const result = output as Record<string, unknown>;
    if (typeof result.error === 'string') throw new WorkerFailure(result.error);
    return result;
  }

  private async cancelOn(endpoint: string, remoteId: string): Promise<void> {
    try {
      await this.require().client.cancel(endpoint, remoteId);
    } catch (error) {
      this.logger.warn(`RunPod job ${remoteId} not cancelled: ${errorReason(error)}`);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeUps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeUps.add(wake);
    });
  }

  private require(): { client: RunPodClient; settings: RunPodSettings } {
    if (!this.client || !this.settings) throw new Error('RunPod is not configured (RUNPOD_API_KEY)');
    return { client: this.client, settings: this.settings };
  }
}

/** A result that is the project worker's error object, as `{"error": "<JSON>"}`. */
class WorkerFailure extends Error {}

/**
 * RunPod's `error` of a failed job. The project's worker sends `{code, message, field?, retryable}`
 * as JSON text; anything else (the stock worker, RunPod itself) is taken as a message.
 */
export function failureOf(record: Pick<JobRecord, 'operation'>, error: unknown): JobFailure {
  const text = typeof error === 'string' ? error : error === undefined ? 'The job failed on RunPod' : JSON.stringify(error);
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown; field?: unknown };
    if (typeof parsed.code === 'string' && typeof parsed.message === 'string') {
      return failureFromWorker(record.operation, {
        code: parsed.code,
        message: parsed.message,
        field: typeof parsed.field === 'string' ? parsed.field : undefined,
      });
    }
  } catch {
    // Not the project worker's error object.
  }
  return serviceFailure(record.operation, text);
}

/** The worker's own stop at the deadline leaves it this long to clean up before RunPod kills it. */
const DEADLINE_GRACE_S = 30;

/** RunPod's executionTimeout: the job's deadline plus the grace, never above RUNPOD_EXECUTION_TIMEOUT. */
export function executionTimeoutS(configuredS: number, deadlineS: number | undefined): number {
  return deadlineS ? Math.min(configuredS, deadlineS + DEADLINE_GRACE_S) : configuredS;
}

function statusOfFailure(failure: JobFailure): typeof JobStatus.Failed | typeof JobStatus.TimedOut {
  return failure.code === TIMED_OUT_CODE ? JobStatus.TimedOut : JobStatus.Failed;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
