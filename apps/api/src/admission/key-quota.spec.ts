import { JobStatus, jobKey } from '@app/common';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TestRedis } from '../../../../test/support/processes';
import { KeyQuota } from './key-quota';

describe('KeyQuota', () => {
  let server: TestRedis;
  let redis: Redis;
  let quota: KeyQuota;

  beforeAll(async () => {
    server = await TestRedis.create();
    await server.start();
    redis = new Redis(server.url);
    quota = new KeyQuota(redis);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.dispose();
  });

  const limits = { maxJobs: 2, maxOutputS: 100 };
  const admitQueued = async (key: string, seconds = 0) => {
    const id = randomUUID();
    const verdict = await quota.admit(key, id, seconds, limits);
    if (verdict.admitted) await redis.hset(jobKey(id), 'status', JobStatus.InQueue);
    return { id, verdict };
  };

  it('admits up to MAX_QUEUED_JOBS_PER_KEY queued jobs, then refuses naming the limit', async () => {
    const key = `key-${randomUUID()}`;
    expect((await admitQueued(key)).verdict.admitted).toBe(true);
    expect((await admitQueued(key)).verdict.admitted).toBe(true);
    expect((await admitQueued(key)).verdict).toEqual({ admitted: false, limit: 'MAX_QUEUED_JOBS_PER_KEY', jobs: 2, outputS: 0 });
  });

  it('counts a job out once it has ended or its record is gone, and keys apart', async () => {
    const key = `key-${randomUUID()}`;
    const first = await admitQueued(key);
    const second = await admitQueued(key);
    expect((await admitQueued(`other-${key}`)).verdict.admitted).toBe(true);
    await redis.hset(jobKey(first.id), 'status', JobStatus.Completed);
    expect((await admitQueued(key)).verdict.admitted).toBe(true);
    expect((await admitQueued(key)).verdict.admitted).toBe(false);
    await redis.del(jobKey(second.id));
    // A missing record counts until its grace is over: it may be a job being written right now.
    expect((await admitQueued(key)).verdict.admitted).toBe(false);
  });

  it('refuses past MAX_QUEUED_OUTPUT_S_PER_KEY the job that would cross it', async () => {
    const key = `key-${randomUUID()}`;
    expect((await admitQueued(key, 60)).verdict.admitted).toBe(true);
    expect((await admitQueued(key, 50)).verdict).toEqual({
      admitted: false,
      limit: 'MAX_QUEUED_OUTPUT_S_PER_KEY',
      jobs: 1,
      outputS: 60,
    });
    expect((await admitQueued(key, 40)).verdict.admitted).toBe(true);
  });
});
