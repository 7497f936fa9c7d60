import type { ConfigService } from '@nestjs/config';
import type { Queue } from 'bull';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TestRedis } from '../../../../test/support/processes';
import type { CommonEnv } from '../config/common-env';
import { JobEnder } from '../jobs/job-ender';
import type { JobRecord } from '../jobs/job-record';
import { JobStatus } from '../jobs/job-status';
import { JobStore } from '../jobs/job-store';
import type { QueuedJobData } from '../jobs/queues';
import { UsageEntry, usageEntryOf } from './usage-entry';
import { UsageLedger, daysBetween } from './usage-ledger';

const PRICES = { runpodPerS: 0.0004, localGpuPerS: 0.0001 };

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: randomUUID(),
    operation: 'caption',
    status: JobStatus.Completed,
    input: {},
    executor: 'local',
    node: 'node-a',
    progress: 100,
    createdAt: '2026-12-05T10:00:00.000Z',
    startedAt: '2026-12-05T10:00:01.000Z',
    endedAt: '2026-12-05T10:00:11.000Z',
    client: 'acme',
    ...overrides,
  };
}

function config(values: Partial<CommonEnv>): ConfigService<CommonEnv, true> {
  return { get: (name: keyof CommonEnv) => values[name] } as unknown as ConfigService<CommonEnv, true>;
}

describe('usageEntryOf', () => {
  it('bills a node job its worker run time at the local price, with the device split and media', () => {
    const output = {
      video_url: 'http://x/v.mp4',
      encoder: 'libx264',
      usage: { run_s: 8, gpu_s: 0, cpu_s: 8, media_in_s: 30, media_out_s: 30, images: 0 },
    };
    expect(usageEntryOf(job({ output }), PRICES)).toEqual(
      expect.objectContaining({
        client: 'acme',
        executor: 'local',
        node: 'node-a',
        media_in_s: 30,
        media_out_s: 30,
        device_cpu_s: 8,
        device_gpu_s: 0,
        encoder: 'libx264',
        whisper_device: null,
        runpod_execution_s: 0,
        gpu_seconds: 8,
        cost: 0.0008,
      }),
    );
  });

  it("bills a RunPod job RunPod's executionTime at the RunPod price, whatever the worker says", () => {
    const record = job({
      operation: 'transcribe',
      executor: 'runpod',
      node: undefined,
      remoteTimings: { delayTime: 900, executionTime: 12_500 },
      output: { device: 'cuda', usage: { run_s: 11, gpu_s: 10, cpu_s: 1, media_in_s: 60, media_out_s: 0, images: 0 } },
    });
    expect(usageEntryOf(record, PRICES)).toEqual(
      expect.objectContaining({ runpod_execution_s: 12.5, gpu_seconds: 12.5, cost: 0.005, device_gpu_s: 10, whisper_device: 'cuda' }),
    );
  });

  it('bills a failed node job from its start to its end, and a job cancelled in the queue nothing', () => {
    const failed = job({ status: JobStatus.Failed, output: undefined });
    expect(usageEntryOf(failed, PRICES)).toEqual(expect.objectContaining({ status: 'FAILED', gpu_seconds: 10, cost: 0.001 }));
    const cancelled = job({ status: JobStatus.Cancelled, startedAt: undefined, node: undefined });
    expect(usageEntryOf(cancelled, PRICES)).toEqual(expect.objectContaining({ gpu_seconds: 0, cost: 0, node: null }));
  });

  it('costs nothing without prices, records no split batch, and names the unnamed client', () => {
    expect(usageEntryOf(job({ client: undefined }), {})).toEqual(expect.objectContaining({ client: '(none)', gpu_seconds: 10, cost: 0 }));
    expect(usageEntryOf(job({ executor: 'split', parts: [] }), PRICES)).toBeNull();
  });
});

describe('UsageLedger', () => {
  let server: TestRedis;
  let redis: Redis;
  let ledger: UsageLedger;

  beforeAll(async () => {
    server = await TestRedis.create();
    await server.start();
    redis = new Redis(server.url);
    ledger = new UsageLedger(redis, config({ ...priceEnv(), USAGE_RETENTION_DAYS: 90 }));
  });

  afterAll(async () => {
    redis.disconnect();
    await server.dispose();
  });

  beforeEach(() => redis.flushall());

  function priceEnv(): Partial<CommonEnv> {
    return { RUNPOD_PRICE_PER_S: PRICES.runpodPerS, LOCAL_GPU_PRICE_PER_S: PRICES.localGpuPerS };
  }

  const today = new Date().toISOString().slice(0, 10);

  function entry(overrides: Partial<UsageEntry>): UsageEntry {
    return {
      job_id: randomUUID(),
      client: 'acme',
      operation: 'caption',
      executor: 'local',
      node: 'node-a',
      status: 'COMPLETED',
      ended_at: new Date().toISOString(),
      media_in_s: 0,
      media_out_s: 0,
      images: 0,
      device_gpu_s: 0,
      device_cpu_s: 0,
      encoder: null,
      whisper_device: null,
      runpod_execution_s: 0,
      gpu_seconds: 1,
      cost: 0,
      ...overrides,
    };
  }

  it('adds each job once, however often it is written', async () => {
    const first = entry({ gpu_seconds: 4, cost: 0.5 });
    expect(await ledger.write(first)).toBe(true);
    expect(await ledger.write(first)).toBe(false);
    const report = await ledger.report({ from: today, to: today });
    expect(report.totals).toEqual(expect.objectContaining({ jobs: 1, completed: 1, gpu_seconds: 4, cost: 0.5 }));
    expect(await ledger.entry(first.job_id)).toEqual(first);
  });

  it('totals a range by day, operation, executor or client, and for one client only', async () => {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    await ledger.write(entry({ client: 'acme', operation: 'caption', executor: 'local', gpu_seconds: 2, media_in_s: 10 }));
    await ledger.write(entry({ client: 'acme', operation: 'img2vid', executor: 'runpod', gpu_seconds: 3, images: 4, ended_at: yesterday, status: 'FAILED' }));
    await ledger.write(entry({ client: 'zeta', operation: 'caption', executor: 'local', gpu_seconds: 5, cost: 0.25 }));
    const from = yesterday.slice(0, 10);
    const all = await ledger.report({ from, to: today, groupBy: 'client' });
    expect(all.totals).toEqual(expect.objectContaining({ jobs: 3, completed: 2, failed: 1, gpu_seconds: 10, images: 4, media_in_s: 10, cost: 0.25 }));
    expect(all.groups.map((group) => [group.key, group.figures.gpu_seconds])).toEqual([['acme', 5], ['zeta', 5]]);
    const acme = await ledger.report({ from, to: today, client: 'acme', groupBy: 'day' });
    expect(acme.groups.map((group) => [group.key, group.figures.jobs])).toEqual([[from, 1], [today, 1]]);
    const byExecutor = await ledger.report({ from, to: today, groupBy: 'executor' });
    expect(byExecutor.groups.map((group) => [group.key, group.figures.jobs])).toEqual([['local', 2], ['runpod', 1]]);
    const onlyToday = await ledger.report({ from: today, to: today, client: 'acme', groupBy: 'operation' });
    expect(onlyToday.groups.map((group) => group.key)).toEqual(['caption']);
    expect(await ledger.monthSpent('zeta')).toEqual({ gpu_seconds: 5, cost: 0.25 });
    expect((await ledger.clientTotals()).get('acme')).toEqual({ jobs: 2, gpu_seconds: 5, cost: 0 });
  });

  it('lets entries and days expire after USAGE_RETENTION_DAYS, and reads no day before them', async () => {
    const short = new UsageLedger(redis, config({ USAGE_RETENTION_DAYS: 2 }));
    const written = entry({});
    await short.write(written);
    const entryTtl = await redis.ttl(`api-gpu:usage:entry:${written.job_id}`);
    expect(entryTtl).toBeGreaterThan(2 * 86_400 - 60);
    // The expiry is rounded up to a whole second.
    expect(entryTtl).toBeLessThanOrEqual(2 * 86_400 + 1);
    const dayTtl = await redis.ttl(`api-gpu:usage:day:${today}`);
    expect(dayTtl).toBeGreaterThan(2 * 86_400);
    expect(dayTtl).toBeLessThanOrEqual(3 * 86_400);
    expect(short.oldestKeptDay(Date.parse('2026-12-05T12:00:00Z'))).toBe('2026-12-03');
  });

  it('lists the days of a range', () => {
    expect(daysBetween('2026-02-27', '2026-03-01')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect(daysBetween('2026-03-02', '2026-03-01')).toEqual([]);
  });

  it('is written exactly once when two ends of the same job race through JobEnder', async () => {
    const store = new JobStore(redis);
    const webhooks = { add: () => Promise.resolve() } as unknown as Queue<QueuedJobData>;
    const ender = new JobEnder(store, ledger, webhooks, config({ JOB_RETENTION_HOURS: 1 }));
    const record = job({ status: JobStatus.InProgress, endedAt: undefined, startedAt: new Date().toISOString() });
    await store.create(record);
    const outcomes = await Promise.all([
      ender.end(record, JobStatus.Completed, { output: { video_url: 'v', usage: { run_s: 3, gpu_s: 0, cpu_s: 3, media_in_s: 5, media_out_s: 5, images: 0 } } }),
      ender.end(record, JobStatus.Cancelled),
    ]);
    expect([...outcomes].sort()).toEqual(['applied', 'refused']);
    const stored = await ledger.entry(record.id);
    expect(stored?.status).toBe((await store.get(record.id))?.status);
    expect((await ledger.report({ from: today, to: today })).totals.jobs).toBe(1);
  });

  it('charges a split part to its batch client and records no batch', async () => {
    const store = new JobStore(redis);
    const parent = job({ executor: 'split', parts: [], client: 'acme' });
    await store.create(parent);
    const part = job({ parentId: parent.id, client: undefined, endedAt: new Date().toISOString() });
    expect(await ledger.record(part)).toBe(true);
    expect(await ledger.record({ ...parent, endedAt: new Date().toISOString() })).toBe(false);
    expect((await ledger.entry(part.id))?.client).toBe('acme');
  });
});
