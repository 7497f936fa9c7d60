import type { JobOptions } from 'bull';

/** Delays before each new delivery attempt of a webhook, as documented: ~1 s, 5 s, 30 s, 2 min, 10 min. */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000, 30_000, 120_000, 600_000];

/** Name of the Bull backoff strategy the webhook queue's consumer registers (its WEBHOOK_RETRY_DELAYS_MS). */
export const WEBHOOK_BACKOFF = 'webhook-schedule';

/**
 * Most delivery attempts of one webhook. The consumer gives up after its own WEBHOOK_RETRY_DELAYS_MS
 * (one try more than there are delays), which whoever queues the webhook does not know; this only
 * keeps Bull from giving up first, so WEBHOOK_RETRY_DELAYS_MS may hold at most one delay fewer.
 */
export const WEBHOOK_MAX_ATTEMPTS = 100;

/** Options of the `{ jobId }` entry JobEnder adds to WEBHOOK_QUEUE: one delivery per job (the job id is the Bull id). */
export function webhookJobOptions(jobId: string): JobOptions {
  return {
    jobId,
    attempts: WEBHOOK_MAX_ATTEMPTS,
    backoff: { type: WEBHOOK_BACKOFF },
    removeOnComplete: true,
    removeOnFail: true,
  };
}
