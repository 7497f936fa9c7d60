import {
  JobEnder,
  JobFailure,
  JobOperation,
  JobRecord,
  JobStatus,
  JobUpdate,
  REDIS_CLIENT,
  JobStore,
  TerminalStatus,
  errorReason,
  failureFromWorker,
  isTerminal,
  serviceFailure,
} from '@app/common';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Executor, ExecutorRefusedError } from './executor';
import { RunPodCallError, RunPodClient, RunPodStatus } from './runpod-client';
import { EXECUTOR_SETTINGS, ExecutorSettings, RunPodSettings, endpointFor, usesStockWhisper } from './runpod-settings';
import { readStockOutput, stockWhisperInput, transcribeResult, transcriptUploads } from './stock-whisper';
import { ResultStorage } from './result-storage';

/**
 * The jobs on RunPod that some API process must poll until they end: a hash from our job id to
 * `{endpoint, remoteId}` (`{}` until RunPod has answered), so that a job whose record is gone can
 * still be cancelled on RunPod.
 */
export const RUNPOD_ACTIVE_JOBS = 'api-gpu:runpod:active';
const POLL_LOCK_PREFIX = 'api-gpu:runpod:poll:';

/** The seed's polling: 2 s, growing ×1.5, at most 8 s apart. */
const FIRST_POLL_MS = 2000;
const POLL_GROWTH = 1.5;
const MAX_POLL_MS = 8000;
/** A poller that stops renewing its lock (its process died) lets another process take over after this. */
const POLL_LOCK_MS = 30_000;
/** How often each process looks for RunPod jobs nobody polls (after a restart, or another process's death). */
const ADOPT_INTERVAL_MS = 10_000;
/** RunPod refuses a `ttl` below 10 s. */
const MIN_TTL_S = 10;
/** A job in the active set still without a RunPod id after this was never handed over. */
const HANDOVER_GRACE_MS = 120_000;

const RENEW_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * RunPod serverless as an executor. A job goes to POST /run; its RunPod id is kept on the record
 * and the job in a Redis set, and exactly one API process (the holder of the job's poll lock) polls
 * GET /status until the job ends, then writes the end on the record. Whatever ends our job first
 * (a client's cancel, our own deadline RUNPOD_MAX_WAIT_S, the record expiring) is passed on to
 * RunPod with POST /cancel, so no RunPod job runs on for nobody.
 */
@Injectable()
export class RunPodExecutor implements Executor, OnApplicationBootstrap, OnApplicationShutdown {
  readonly name = 'runpod' as const;
  private readonly logger = new Logger(RunPodExecutor.name);
  private readonly owner = randomUUID();
  private readonly polling = new Set<string>();
  private readonly settings: RunPodSettings | null;
  private readonly client: RunPodClient | null;
  private adoptTimer?: NodeJS.Timeout;
  private stopping = false;
  private readonly wakeUps = new Set<() => void>();

  constructor(
    private readonly store: JobStore,
    private readonly ender: JobEnder,
    private readonly storage: ResultStorage,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(EXECUTOR_SETTINGS) executorSettings: ExecutorSettings,
  ) {
    this.settings = executorSettings.runpod;
    this.client = this.settings ? new RunPodClient(this.settings) : null;
  }

  get configured(): boolean {
    return this.client !== null;
  }

  /** RunPod's own /health of the endpoint; null when RunPod is not configured. */
  health(operation: JobOperation = JobOperation.Caption) {
    if (!this.client || !this.settings) return null;
    return this.client.health(endpointFor(this.settings, operation));
  }

  onApplicationBootstrap(): void {
    if (!this.configured) return;
    this.adoptTimer = setInterval(() => void this.adoptOrphans(), ADOPT_INTERVAL_MS);
    void this.adoptOrphans();
  }

  onApplicationShutdown(): void {
    this.stopping = true;
    clearInterval(this.adoptTimer);
    for (const wake of this.wakeUps) wake();
  }

  async submit(record: JobRecord): Promise<void> {
    const { client, settings } = this.require();
    const endpoint = endpointFor(settings, record.operation);
    const input = usesStockWhisper(settings, record.operation)
      ? stockWhisperInput(record.input)
      : { operation: record.operation, ...record.input };
    await this.redis.hset(RUNPOD_ACTIVE_JOBS, record.id, '{}');
    let accepted: RunPodStatus;
    try {
      accepted = await client.run(endpoint, input, {
        executionTimeoutMs: settings.executionTimeoutS * 1000,
        ttlMs: Math.max(settings.maxWaitS, MIN_TTL_S) * 1000,
      });
      if (typeof accepted?.id !== 'string' || !accepted.id) {
        throw new RunPodCallError('RunPod POST /run answered without a job id', 502);
      }
    } catch (error) {
      await this.redis.hdel(RUNPOD_ACTIVE_JOBS, record.id).catch(() => undefined);
      throw new ExecutorRefusedError('runpod', errorReason(error));
    }
    await this.redis.hset(RUNPOD_ACTIVE_JOBS, record.id, JSON.stringify({ endpoint, remoteId: accepted.id }));
    const outcome = await this.store.updateActive(record.id, { remoteId: accepted.id });
    if (outcome !== 'applied') {
      // Cancelled (or removed) while RunPod was taking it.
      await this.cancelRemote(record.operation, accepted.id);
      await this.redis.hdel(RUNPOD_ACTIVE_JOBS, record.id);
      return;
    }
    void this.claimAndPoll(record.id);
  }

  async cancel(record: JobRecord): Promise<void> {
    if (record.remoteId) await this.cancelRemote(record.operation, record.remoteId);
  }

  /** Polls every job of the active set that no live process polls. */
  private async adoptOrphans(): Promise<void> {
    try {
      const ids = await this.redis.hkeys(RUNPOD_ACTIVE_JOBS);
      for (const id of ids) if (!this.polling.has(id)) void this.claimAndPoll(id);
    } catch (error) {
      this.logger.warn(`RunPod jobs not looked for: ${errorReason(error)}`);
    }
  }

  private async claimAndPoll(jobId: string): Promise<void> {
    if (this.stopping || this.polling.has(jobId)) return;
    const lock = `${POLL_LOCK_PREFIX}${jobId}`;
    const taken = await this.redis.set(lock, this.owner, 'PX', POLL_LOCK_MS, 'NX').catch(() => null);
    if (taken !== 'OK') return;
    this.polling.add(jobId);
    try {
      await this.poll(jobId, lock);
    } catch (error) {
      this.logger.error(`job ${jobId}: polling RunPod stopped: ${errorReason(error)}`);
    } finally {
      this.polling.delete(jobId);
      await this.redis.eval(RELEASE_LOCK_SCRIPT, 1, lock, this.owner).catch(() => undefined);
    }
  }

  private async poll(jobId: string, lock: string): Promise<void> {
    const { client, settings } = this.require();
    let delay = FIRST_POLL_MS;
    for (;;) {
      await this.pause(delay);
      if (this.stopping) return;
      delay = Math.min(delay * POLL_GROWTH, MAX_POLL_MS);
      const renewed = await this.redis.eval(RENEW_LOCK_SCRIPT, 1, lock, this.owner, String(POLL_LOCK_MS));
      if (renewed !== 1) return;

      const record = await this.store.get(jobId);
      if (!record) {
        // Its record is gone (expired or removed): nobody will ever ask for this job.
        await this.abandon(jobId);
        return;
      }
      if (!record.remoteId) {
        if (Date.now() - Date.parse(record.createdAt) < HANDOVER_GRACE_MS && !isTerminal(record.status)) continue;
        if (isTerminal(record.status)) await this.redis.hdel(RUNPOD_ACTIVE_JOBS, jobId);
        else await this.end(record, JobStatus.Failed, { failure: this.failure(record, 'The job was never handed to RunPod') });
        return;
      }
      const endpoint = endpointFor(settings, record.operation);
      if (isTerminal(record.status)) {
        // Ended on our side (a client's cancel) while RunPod may still be running it.
        await this.cancelRemote(record.operation, record.remoteId);
        await this.redis.hdel(RUNPOD_ACTIVE_JOBS, jobId);
        return;
      }
      if (Date.now() - Date.parse(record.createdAt) > settings.maxWaitS * 1000) {
        const ended = await this.end(record, JobStatus.TimedOut, {
          failure: this.failure(record, `The job did not end on RunPod within RUNPOD_MAX_WAIT_S (${settings.maxWaitS} s)`),
        });
        if (ended) await this.cancelRemote(record.operation, record.remoteId);
        continue;
      }
      let status: RunPodStatus;
      try {
        status = await client.status(endpoint, record.remoteId);
      } catch (error) {
        if (error instanceof RunPodCallError && error.status === 404) {
          await this.end(record, JobStatus.Failed, { failure: this.failure(record, 'RunPod no longer knows this job') });
        } else {
          this.logger.warn(`job ${jobId}: RunPod status not read: ${errorReason(error)}`);
        }
        continue;
      }
      await this.observe(record, status);
    }
  }

  /** Writes what RunPod says about the job onto its record. */
  private async observe(record: JobRecord, status: RunPodStatus): Promise<void> {
    const remoteTimings = {
      delayTime: numberOr(status.delayTime, 0),
      executionTime: numberOr(status.executionTime, 0),
    };
    const startedAt = record.startedAt ?? new Date().toISOString();
    switch (status.status) {
      case 'IN_QUEUE':
        return;
      case 'IN_PROGRESS': {
        const percent = (status.output as { percent?: unknown } | undefined)?.percent;
        await this.store.updateActive(record.id, {
          status: JobStatus.InProgress,
          startedAt,
          remoteTimings,
          ...(typeof percent === 'number' ? { progress: Math.max(record.progress, Math.min(99, percent)) } : {}),
        });
        return;
      }
      case 'COMPLETED': {
        let output: Record<string, unknown>;
        try {
          output = await this.resultOf(record, status.output);
        } catch (error) {
          const failure =
            error instanceof WorkerFailure ? this.failureOf(record, error.message) : this.failure(record, errorReason(error));
          await this.end(record, JobStatus.Failed, { startedAt, remoteTimings, failure });
          return;
        }
        await this.end(record, JobStatus.Completed, { startedAt, remoteTimings, output, progress: 100 });
        return;
      }
      case 'FAILED':
        await this.end(record, JobStatus.Failed, { startedAt, remoteTimings, failure: this.failureOf(record, status.error) });
        return;
      case 'CANCELLED':
        await this.end(record, JobStatus.Cancelled, { remoteTimings });
        return;
      case 'TIMED_OUT':
        await this.end(record, JobStatus.TimedOut, {
          startedAt,
          remoteTimings,
          failure: this.failure(
            record,
            `RunPod stopped the job after RUNPOD_EXECUTION_TIMEOUT (${this.require().settings.executionTimeoutS} s)`,
          ),
        });
        return;
      default:
        this.logger.warn(`job ${record.id}: RunPod reported an unknown status ${String(status.status)}`);
    }
  }

  /** The job's result: the project worker's output as is; the stock whisper's made into our files. */
  private async resultOf(record: JobRecord, output: unknown): Promise<Record<string, unknown>> {
    if (usesStockWhisper(this.require().settings, record.operation)) {
      const transcript = readStockOutput(output);
      const urls = await this.storage.upload(String(record.input.path), transcriptUploads(transcript));
      return transcribeResult(transcript, urls);
    }
    if (typeof output !== 'object' || output === null || Array.isArray(output)) {
      throw new Error('RunPod reported the job completed without a result');
    }
    const result = output as Record<string, unknown>;
    if (typeof result.error === 'string') throw new WorkerFailure(result.error);
    return result;
  }

  private async end(record: JobRecord, status: TerminalStatus, update: JobUpdate): Promise<boolean> {
    const outcome = await this.ender.end(record, status, update);
    await this.redis.hdel(RUNPOD_ACTIVE_JOBS, record.id);
    return outcome === 'applied';
  }

  /**
   * RunPod's `error` of a failed job. The project's worker sends `{code, message, field?, retryable}`
   * as JSON text; anything else (the stock worker, RunPod itself) is taken as a message.
   */
  private failureOf(record: JobRecord, error: unknown): JobFailure {
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
    return this.failure(record, text);
  }

  private failure(record: JobRecord, message: string): JobFailure {
    return serviceFailure(record.operation, message);
  }

  private async abandon(jobId: string): Promise<void> {
    const entry = await this.redis.hget(RUNPOD_ACTIVE_JOBS, jobId);
    const { endpoint, remoteId } = JSON.parse(entry ?? '{}') as { endpoint?: string; remoteId?: string };
    if (endpoint && remoteId) await this.cancelOn(endpoint, remoteId);
    await this.redis.hdel(RUNPOD_ACTIVE_JOBS, jobId);
  }

  private cancelRemote(operation: JobOperation, remoteId: string): Promise<void> {
    return this.cancelOn(endpointFor(this.require().settings, operation), remoteId);
  }

  private async cancelOn(endpoint: string, remoteId: string): Promise<void> {
    const { client } = this.require();
    try {
      await client.cancel(endpoint, remoteId);
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
    if (!this.client || !this.settings) throw new ExecutorRefusedError('runpod', 'RunPod is not configured (RUNPOD_API_KEY)');
    return { client: this.client, settings: this.settings };
  }
}

/** A result that is the project worker's error object, as `{"error": "<JSON>"}`. */
class WorkerFailure extends Error {}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
