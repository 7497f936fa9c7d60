import { JobOperation, JobRecord, JobStatus, JobStore } from '@app/common';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TestRedis, waitFor } from '../../../../test/support/processes';
import { ApiMetrics } from './api-metrics';
import { JobMetrics } from './job-metrics.service';

const RETENTION_MS = 60_000;

function value(metrics: ApiMetrics, name: string, labels: Record<string, string>): Promise<number> {
  return metrics.registry
    .getSingleMetric(name)!
    .get()
    .then((metric) => {
      const sample = metric.values.find((v) =>
        Object.entries(labels).every(([key, label]) => v.labels[key] === label),
      );
      return sample?.value ?? 0;
    });
}

/** Two API processes' worth of JobMetrics on a real Redis, fed by the job store's own announcements. */
describe('JobMetrics', () => {
  let redis: TestRedis;
  let connections: Redis[];
  let store: JobStore;
  let first: { metrics: ApiMetrics; jobs: JobMetrics };
  let second: { metrics: ApiMetrics; jobs: JobMetrics };

  const instance = async () => {
    const connection = new Redis(redis.url);
    connections.push(connection);
    const metrics = new ApiMetrics();
    const jobs = new JobMetrics(metrics, new JobStore(connection), connection);
    await jobs.onModuleInit();
    return { metrics, jobs };
  };
  const both = async (name: string, labels: Record<string, string>) =>
    (await value(first.metrics, name, labels)) + (await value(second.metrics, name, labels));
  const job = async (operation: JobOperation, overrides: Partial<JobRecord> = {}): Promise<string> => {
    const id = randomUUID();
    await store.create({
      id,
      operation,
      status: JobStatus.InQueue,
      input: {},
      executor: 'local',
      progress: 0,
      createdAt: new Date(Date.now() - 3000).toISOString(),
      ...overrides,
    });
    return id;
  };

  beforeAll(async () => {
    redis = await TestRedis.create();
    await redis.start();
    connections = [];
    const storeConnection = new Redis(redis.url);
    connections.push(storeConnection);
    store = new JobStore(storeConnection);
    first = await instance();
    second = await instance();
  });

  afterAll(async () => {
    first?.jobs.onApplicationShutdown();
    second?.jobs.onApplicationShutdown();
    for (const connection of connections ?? []) connection.disconnect();
    await redis?.dispose();
  });

  it('counts a completed job once across processes, with its run time and queue wait', async () => {
    const id = await job(JobOperation.Img2Vid);
    await store.updateActive(id, { status: JobStatus.InProgress, startedAt: new Date(Date.now() - 2000).toISOString() });
    await store.finish(id, JobStatus.Completed, { output: {}, progress: 100 }, RETENTION_MS);
    const labels = { operation: 'img2vid', executor: 'local', outcome: 'completed' };
    await waitFor('the completion counted', async () => ((await both('api_gpu_jobs_total', labels)) === 1 ? true : undefined));

    await first.jobs.observe(id);
    await second.jobs.observe(id);
    expect(await both('api_gpu_jobs_total', labels)).toBe(1);
    const counter = (await value(first.metrics, 'api_gpu_jobs_total', labels)) === 1 ? first : second;
    const duration = (await counter.metrics.jobDuration.get()).values.find(
      (v) => v.metricName === 'api_gpu_job_duration_seconds_sum' && v.labels.outcome === 'completed',
    );
    expect(duration?.value).toBeGreaterThanOrEqual(1.9);
    const wait = (await counter.metrics.queueWait.get()).values.find(
      (v) => v.metricName === 'api_gpu_job_queue_wait_seconds_sum' && v.labels.operation === 'img2vid',
    );
    expect(wait?.value).toBeGreaterThanOrEqual(0.9);
  });

  it('counts failed, cancelled and timed-out jobs under their outcome and leaves running ones out', async () => {
    const failed = await job(JobOperation.Caption);
    const cancelled = await job(JobOperation.Transcribe);
    const timedOut = await job(JobOperation.AddAudio);
    const running = await job(JobOperation.AddAudio);
    await store.finish(failed, JobStatus.Failed, { failure: { error: 'Bad Request', message: 'x' } }, RETENTION_MS);
    await store.finish(cancelled, JobStatus.Cancelled, {}, RETENTION_MS);
    await store.finish(timedOut, JobStatus.TimedOut, {}, RETENTION_MS);
    await store.updateActive(running, { status: JobStatus.InProgress, startedAt: new Date().toISOString() });
    const expected: [string, string][] = [
      ['caption', 'failed'],
      ['transcribe', 'cancelled'],
      ['addaudio', 'timed_out'],
    ];
    for (const [operation, outcome] of expected) {
      await waitFor(`${operation} ${outcome} counted`, async () =>
        (await both('api_gpu_jobs_total', { operation, outcome })) === 1 ? true : undefined,
      );
    }
    expect(await both('api_gpu_jobs_total', { operation: 'addaudio', outcome: 'in_progress' })).toBe(0);
  });

  it('counts webhook deliveries by outcome once their result is recorded on the job', async () => {
    const delivered = await job(JobOperation.Caption, { webhookUrl: 'https://hooks.example.com/a' });
    const failed = await job(JobOperation.Caption, { webhookUrl: 'https://hooks.example.com/b' });
    await store.finish(delivered, JobStatus.Completed, {}, RETENTION_MS);
    await store.finish(failed, JobStatus.Completed, {}, RETENTION_MS);
    await store.annotate(delivered, { webhook: { status: 'delivered', attempts: 1 } });
    await store.annotate(failed, { webhook: { status: 'failed', attempts: 6, lastError: 'HTTP 500' } });
    for (const outcome of ['delivered', 'failed']) {
      await waitFor(`webhook ${outcome} counted`, async () =>
        (await both('api_gpu_webhook_deliveries_total', { outcome })) === 1 ? true : undefined,
      );
    }
  });
});
