import { JobStore, QueuedJobData, WEBHOOK_QUEUE, isTerminal } from '@app/common';
import { Process, Processor } from '@nestjs/bull';
import { Inject, Logger } from '@nestjs/common';
import type { Job } from 'bull';
import { finalResponse } from '../jobs/job-responses';
import { WebhookDeliveryError, WebhookSender } from './webhook-sender';
import { WEBHOOK_SETTINGS, WebhookSettings } from './webhook-settings';

/** Deliveries in flight at once in one API process: a slow receiver must not hold up the others. */
const DELIVERY_CONCURRENCY = 8;

/**
 * Delivers the final response body of each ended job that asked for a webhook. Whoever ends a job
 * adds `{ jobId }` to WEBHOOK_QUEUE; a failed delivery is thrown back to Bull, which retries it
 * after the next delay of WEBHOOK_RETRY_DELAYS_MS. The outcome (delivered, or failed after the last
 * try) is recorded on the job, where GET /job/:id shows it.
 */
@Processor(WEBHOOK_QUEUE)
export class WebhookProcessor {
  private readonly logger = new Logger(WebhookProcessor.name);

  constructor(
    private readonly jobs: JobStore,
    private readonly sender: WebhookSender,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
  ) {}

  @Process({ concurrency: DELIVERY_CONCURRENCY })
  async deliver(job: Job<QueuedJobData>): Promise<void> {
    const { jobId } = job.data;
    const record = await this.jobs.get(jobId);
    // Expired, already settled by an earlier delivery of the same job, or not ended: nothing to send.
    if (!record?.webhookUrl || record.webhook || !isTerminal(record.status)) return;

    const attempts = job.attemptsMade + 1;
    try {
      await this.sender.send(record.webhookUrl, finalResponse(record).body);
    } catch (error) {
      const failure = error instanceof WebhookDeliveryError ? error : new WebhookDeliveryError(String(error), true);
      const lastTry = !failure.retryable || attempts > this.settings.retryDelaysMs.length;
      if (!lastTry) {
        this.logger.warn(`webhook of job ${jobId}: attempt ${attempts} failed (${failure.message}); will retry`);
        throw failure;
      }
      await this.jobs.annotate(jobId, { webhook: { status: 'failed', attempts, lastError: failure.message } });
      this.logger.warn(`webhook of job ${jobId}: given up after ${attempts} attempt(s): ${failure.message}`);
      await job.discard();
      throw failure;
    }
    await this.jobs.annotate(jobId, { webhook: { status: 'delivered', attempts } });
    this.logger.log(`webhook of job ${jobId}: delivered (attempt ${attempts})`);
  }
}
