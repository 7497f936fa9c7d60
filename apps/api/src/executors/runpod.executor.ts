import { JobOperation, JobRecord, RunPodJobData, errorReason, withTimeout } from '@app/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiEnv } from '../config/api-env';
import { Executor, ExecutorRefusedError, SubmitOptions } from './executor';
import { RunPodClient } from './runpod-client';
import { RUNPOD_QUEUE_BY_OPERATION, RunPodQueueByOperation } from './runpod-queues';
import { EXECUTOR_SETTINGS, ExecutorSettings, RunPodSettings, endpointFor } from './runpod-settings';

/** A Redis round trip that has not answered by then is treated as Redis being down. */
const REDIS_TIMEOUT_MS = 5000;
const BACKOFF_DELAY_MS = 5000;

/**
 * RunPod serverless as an executor, as the API sees it: a job is a Bull job `{ jobId }` on its
 * operation's RunPod queue, which the RunPod dispatcher consumes (hands it to RunPod, follows it,
 * ends it). The API only queues, and passes a cancel on to RunPod at once.
 */
@Injectable()
export class RunPodExecutor implements Executor {
  readonly name = 'runpod' as const;
  private readonly logger = new Logger(RunPodExecutor.name);
  private readonly settings: RunPodSettings | null;
  private readonly client: RunPodClient | null;
  private readonly attempts: number;
  private readonly retentionS: number;

  constructor(
    @Inject(RUNPOD_QUEUE_BY_OPERATION) private readonly queues: RunPodQueueByOperation,
    @Inject(EXECUTOR_SETTINGS) executorSettings: ExecutorSettings,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.settings = executorSettings.runpod;
    this.client = this.settings ? new RunPodClient(this.settings) : null;
    this.attempts = config.get('JOB_MAX_ATTEMPTS', { infer: true });
    this.retentionS = config.get('JOB_RETENTION_HOURS', { infer: true }) * 3600;
  }

  get configured(): boolean {
    return this.client !== null;
  }

  /** RunPod's own /health of the endpoint; null when RunPod is not configured. */
  health(operation: JobOperation = JobOperation.Caption) {
    if (!this.client || !this.settings) return null;
    return this.client.health(endpointFor(this.settings, operation));
  }

  async submit(record: JobRecord, options: SubmitOptions = {}): Promise<void> {
    if (!this.configured) throw new ExecutorRefusedError('runpod', 'RunPod is not configured (RUNPOD_API_KEY)');
    const data: RunPodJobData = { jobId: record.id, ...(options.failover ? { failover: true } : {}) };
    const keepFor = { age: this.retentionS };
    try {
      await withTimeout(
        this.queues[record.operation].add(data, {
          jobId: record.id,
          attempts: this.attempts,
          backoff: { type: 'exponential', delay: BACKOFF_DELAY_MS },
          removeOnComplete: keepFor,
          removeOnFail: keepFor,
        }),
        REDIS_TIMEOUT_MS,
        'queueing the job',
      );
    } catch (error) {
      throw new ExecutorRefusedError('runpod', `the RunPod queue (Redis) did not take the job: ${errorReason(error)}`);
    }
  }

  /**
   * Takes the job off its queue if no dispatcher has it yet, and cancels it on RunPod if RunPod has
   * it; a dispatcher following it stops at its next look, finding the record ended.
   */
  async cancel(record: JobRecord): Promise<void> {
    try {
      const job = await this.queues[record.operation].getJob(record.id);
      const state = await job?.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'paused') await job?.remove();
    } finally {
      if (record.remoteId && this.client && this.settings) {
        await this.client.cancel(endpointFor(this.settings, record.operation), record.remoteId).catch((error: unknown) => {
          this.logger.warn(`RunPod job ${record.remoteId} not cancelled: ${errorReason(error)}`);
        });
      }
    }
  }
}
