import type { JobOptions } from 'bull';

/** Delays before each new delivery attempt of a webhook, as documented: ~1 s, 5 s, 30 s, 2 min, 10 min. */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000, 30_000, 120_000, 600_000];

/** Name of the Bull backoff strategy the webhook queue's consumer registers as `webhookBackoffDelay`. */
export const WEBHOOK_BACKOFF = 'webhook-schedule';

/** Bull's custom backoff: `attemptsMade` counts the failed deliveries so far (1 after the first). */
export function webhookBackoffDelay(attemptsMade: number): number {
  const index = Math.min(Math.max(attemptsMade, 1), WEBHOOK_RETRY_DELAYS_MS.length) - 1;
  return WEBHOOK_RETRY_DELAYS_MS[index];
}

/**
 * Options of the `{ jobId }` entry whoever ends a job (node or API) adds to WEBHOOK_QUEUE: one
 * delivery per job (the job id is the Bull id), the first try plus one per documented delay.
 */
export function webhookJobOptions(jobId: string): JobOptions {
  return {
    jobId,
    attempts: WEBHOOK_RETRY_DELAYS_MS.length + 1,
    backoff: { type: WEBHOOK_BACKOFF },
    removeOnComplete: true,
    removeOnFail: true,
  };
}
