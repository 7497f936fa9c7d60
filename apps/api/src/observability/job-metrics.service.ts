import { JOB_EVENTS_CHANNEL, JobRecord, JobStore, REDIS_CLIENT, errorReason, isTerminal, mayHaveEnded, parseJobEvent } from '@app/common';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { ApiMetrics } from './api-metrics';

/** How long a "counted" mark lives: far longer than any job record is kept, so nothing is counted twice. */
const COUNTED_MARK_TTL_S = 14 * 24 * 3600;
const COUNTED_PREFIX = 'api-gpu:metrics:counted:';

/**
 * Job and webhook metrics from the job records themselves. Every change to a record is announced
 * on JOB_EVENTS_CHANNEL, whichever process made it (an API, a GPU node, the webhook sender); this
 * service reads the record on each announcement of an ended job and counts its final status and
 * webhook outcome.
 * With several API processes each one hears every announcement, so each count is first claimed
 * in Redis (SET NX): exactly one process counts a job, and `sum()` across them is right.
 */
@Injectable()
export class JobMetrics implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(JobMetrics.name);
  private subscriber?: Redis;

  constructor(
    private readonly metrics: ApiMetrics,
    private readonly jobs: JobStore,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {}

  async onModuleInit(): Promise<void> {
    // Queued while Redis is away and re-subscribed by ioredis after every reconnect.
    this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, message: string) => {
      // Only an ended job has something to count (its webhook outcome comes after its end).
      const event = parseJobEvent(message);
      if (!event || !mayHaveEnded(event)) return;
      this.observe(event.id).catch((error: unknown) => this.logger.debug(`job event not counted: ${errorReason(error)}`));
    });
    await this.subscriber.subscribe(JOB_EVENTS_CHANNEL);
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  /** Counts what a job's record shows and has not been counted yet; safe to call any number of times. */
  async observe(jobId: string): Promise<void> {
    const record = await this.jobs.get(jobId);
    if (!record) return;
    if (isTerminal(record.status) && (await this.claim(`job:${jobId}`))) this.countEnded(record);
    if (record.webhook && (await this.claim(`webhook:${jobId}`))) {
      this.metrics.webhookDeliveries.inc({ outcome: record.webhook.status });
    }
  }

  private countEnded(record: JobRecord): void {
    const outcome = record.status.toLowerCase();
    const labels = { operation: record.operation, executor: record.executor, outcome };
    this.metrics.jobs.inc(labels);
    const created = Date.parse(record.createdAt);
    const started = record.startedAt ? Date.parse(record.startedAt) : NaN;
    const ended = record.endedAt ? Date.parse(record.endedAt) : NaN;
    if (Number.isFinite(started) && Number.isFinite(ended)) {
      this.metrics.jobDuration.observe(labels, Math.max(0, ended - started) / 1000);
    }
    if (Number.isFinite(created) && Number.isFinite(started)) {
      this.metrics.queueWait.observe(
        { operation: record.operation, executor: record.executor },
        Math.max(0, started - created) / 1000,
      );
    }
  }

  private async claim(what: string): Promise<boolean> {
    return (await this.redis.set(`${COUNTED_PREFIX}${what}`, '1', 'EX', COUNTED_MARK_TTL_S, 'NX')) === 'OK';
  }
}
