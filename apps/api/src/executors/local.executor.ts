import { JOB_CANCEL_CHANNEL, JobRecord, QueuedJobData, REDIS_CLIENT, errorReason, withTimeout } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { ApiEnv } from '../config/api-env';
import { FairShare } from '../tenancy/fair-share';
import { JOB_QUEUE_BY_OPERATION, JobQueueByOperation } from './local-queues';
import { Executor, ExecutorRefusedError } from './executor';

/** A Redis round trip that has not answered by then is treated as Redis being down. */
const REDIS_TIMEOUT_MS = 5000;
const BACKOFF_DELAY_MS = 5000;

/**
 * The local GPU nodes: a job is a Bull job `{ jobId }` on its operation's queue, which the nodes
 * consume, with its client's fair-share priority (FairShare).
 */
@Injectable()
export class LocalExecutor implements Executor {
  readonly name = 'local' as const;
  private readonly retentionS: number;
  private readonly attempts: number;

  constructor(
    @Inject(JOB_QUEUE_BY_OPERATION) private readonly queues: JobQueueByOperation,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly fairShare: FairShare,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.retentionS = config.get('JOB_RETENTION_HOURS', { infer: true }) * 3600;
    this.attempts = config.get('JOB_MAX_ATTEMPTS', { infer: true });
  }

  async submit(record: JobRecord): Promise<void> {
    const data: QueuedJobData = { jobId: record.id };
    const keepFor = { age: this.retentionS };
    const queue = this.queues[record.operation];
    try {
      const priority = await withTimeout(this.fairShare.priorityFor(queue.name, record.client), REDIS_TIMEOUT_MS, 'Redis');
      await withTimeout(
        queue.add(data, {
          jobId: record.id,
          ...(priority === undefined ? {} : { priority }),
          attempts: this.attempts,
          backoff: { type: 'exponential', delay: BACKOFF_DELAY_MS },
          removeOnComplete: keepFor,
          removeOnFail: keepFor,
        }),
        REDIS_TIMEOUT_MS,
        'queueing the job',
      );
    } catch (error) {
      throw new ExecutorRefusedError('local', `the job queue (Redis) did not take the job: ${errorReason(error)}`);
    }
  }

  /** Takes the job off its queue if no node has it yet, and tells the node running it. */
  async cancel(record: JobRecord): Promise<void> {
    try {
      const job = await this.queues[record.operation].getJob(record.id);
      const state = await job?.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'paused') await job?.remove();
    } finally {
      await withTimeout(this.redis.publish(JOB_CANCEL_CHANNEL, record.id), REDIS_TIMEOUT_MS, 'Redis');
    }
  }
}
