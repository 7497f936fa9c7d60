import { JobOperation, JobRecord, JobStatus, JobStore, QueuedJobData, WEBHOOK_MAX_ATTEMPTS, webhookJobOptions } from '@app/common';
import type { Job } from 'bull';
import { WebhookProcessor } from './webhook.processor';
import { WebhookDeliveryError, WebhookSender } from './webhook-sender';
import { WebhookSettings } from './webhook-settings';

describe('WebhookProcessor', () => {
  const record: JobRecord = {
    id: 'job-1',
    operation: JobOperation.Caption,
    status: JobStatus.Completed,
    input: {},
    executor: 'local',
    progress: 100,
    createdAt: new Date().toISOString(),
    output: { video_url: 'http://x/v.mp4' },
    webhookUrl: 'http://receiver.example/hook',
  };
  const settings = (delays: number): WebhookSettings => ({
    secret: 'secret',
    retryDelaysMs: Array.from({ length: delays }, () => 10),
    timeoutMs: 1000,
    allowlist: [],
  });
  const attempt = async (delays: number, attemptsMade: number) => {
    const annotate = jest.fn().mockResolvedValue('applied');
    const jobs = { get: jest.fn().mockResolvedValue(record), annotate } as unknown as JobStore;
    const sender = { send: jest.fn().mockRejectedValue(new WebhookDeliveryError('503 from the receiver', true)) } as unknown as WebhookSender;
    const discard = jest.fn();
    const job = { data: { jobId: record.id }, attemptsMade, opts: webhookJobOptions(record.id), discard } as unknown as Job<QueuedJobData>;
    await expect(new WebhookProcessor(jobs, sender, settings(delays)).deliver(job)).rejects.toThrow('503');
    return { discarded: discard.mock.calls.length > 0, annotate };
  };

  it('tries once more than there are delays, a sixth delay included', async () => {
    expect(webhookJobOptions(record.id).attempts).toBe(WEBHOOK_MAX_ATTEMPTS);
    expect((await attempt(6, 5)).discarded).toBe(false);
    const last = await attempt(6, 6);
    expect(last.discarded).toBe(true);
    expect(last.annotate).toHaveBeenCalledWith(record.id, { webhook: { status: 'failed', attempts: 7, lastError: '503 from the receiver' } });
  });

  it('gives up after the last delay of a shorter schedule', async () => {
    expect((await attempt(2, 1)).discarded).toBe(false);
    expect((await attempt(2, 2)).discarded).toBe(true);
  });
});
