import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bull';
import type { CommonEnv } from '../config/common-env';
import { UsageLedger } from '../usage/usage-ledger';
import { errorReason } from '../util/error-reason';
import type { JobRecord, JobUpdate } from './job-record';
import { JobStore, TransitionOutcome } from './job-store';
import { TERMINAL_JOB_STATUSES } from './job-status';
import { QueuedJobData, WEBHOOK_QUEUE } from './queues';
import { webhookJobOptions } from './webhook-queue';

export type TerminalStatus = (typeof TERMINAL_JOB_STATUSES)[number];

/** What the ledger reads of an ended record: not its input, which may list hundreds of images. */
const LEDGER_FIELDS: (keyof JobRecord)[] = [
  'operation',
  'executor',
  'node',
  'client',
  'createdAt',
  'startedAt',
  'endedAt',
  'output',
  'remoteTimings',
  'parts',
  'parentId',
];

/**
 * The one place a job ends, whoever ends it (a GPU node, the RunPod dispatcher, the split
 * coordinator, a client's cancel): the record moves to its final status with the atomic transition
 * (so a completion and a cancel racing each other have exactly one winner), its retention clock
 * starts, its usage ledger entry is written, and its webhook is queued. The transition announces the end on JOB_EVENTS_CHANNEL, from
 * which the API counts the job's metrics once.
 */
@Injectable()
export class JobEnder {
  private readonly logger = new Logger(JobEnder.name);
  private readonly retentionMs: number;

  constructor(
    private readonly store: JobStore,
    private readonly ledger: UsageLedger,
    @InjectQueue(WEBHOOK_QUEUE) private readonly webhooks: Queue<QueuedJobData>,
    config: ConfigService<CommonEnv, true>,
  ) {
    this.retentionMs = config.get('JOB_RETENTION_HOURS', { infer: true }) * 3_600_000;
  }

  /**
   * Ends the job if it is still active; 'refused' when it had already ended (the earlier end
   * stands), 'missing' when its record is gone. Only an applied end, which happens once per job,
   * records its usage and queues the webhook.
   */
  async end(record: Pick<JobRecord, 'id' | 'webhookUrl'>, status: TerminalStatus, update: JobUpdate = {}): Promise<TransitionOutcome> {
    const outcome = await this.store.finish(record.id, status, update, this.retentionMs);
    if (outcome !== 'applied') {
      this.logger.debug(`job ${record.id} had already ended (${outcome}); ${status} not recorded`);
      return outcome;
    }
    await this.recordUsage(record.id);
    if (record.webhookUrl) {
      await this.webhooks.add({ jobId: record.id }, webhookJobOptions(record.id)).catch((error: unknown) => {
        this.logger.error(`job ${record.id} ended but its webhook could not be queued: ${errorReason(error)}`);
      });
    }
    return outcome;
  }

  /**
   * The record as it ended is the ledger's source. The entry is written once (the ledger ignores a
   * second write of a job); a failure to write it is logged and leaves the job's end as it is.
   */
  private async recordUsage(jobId: string): Promise<void> {
    try {
      const [ended] = await this.store.peek([jobId], LEDGER_FIELDS);
      if (ended) await this.ledger.record({ ...ended, id: jobId });
    } catch (error) {
      this.logger.error(`job ${jobId} ended but its usage was not recorded: ${errorReason(error)}`);
    }
  }
}
