import { JOB_EVENTS_CHANNEL, JobRecord, JobStatus, JobStore } from '@app/common';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TestRedis, waitFor } from '../../../../../test/support/processes';
import { SplitRecovery } from './split-recovery';

describe('SplitRecovery', () => {
  let server: TestRedis;
  let redis: Redis;
  let store: JobStore;

  beforeAll(async () => {
    server = await TestRedis.create();
    await server.start();
    redis = new Redis(server.url);
    store = new JobStore(redis);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.dispose();
  });

  const job = (update: Partial<JobRecord> = {}): JobRecord => ({
    id: randomUUID(),
    operation: 'img2vid',
    status: JobStatus.InProgress,
    input: { path: 'Projeto Ação/', images: [] },
    executor: 'local',
    progress: 0,
    createdAt: new Date().toISOString(),
    ...update,
  });
  const partsOf = (count: number) =>
    Array.from({ length: count }, (_, index) => ({ id: randomUUID(), start: index * 2, count: 2, executor: 'local' as const }));

  it('announces the first part of every split job still going, and of no other job', async () => {
    const going = [job({ executor: 'split', parts: partsOf(3) }), job({ executor: 'split', status: JobStatus.InQueue, parts: partsOf(2) })];
    const ended = job({ executor: 'split', status: JobStatus.Completed, parts: partsOf(3) });
    const plain = job();
    const part = job({ parentId: going[0].id });
    // Enough records that the scan takes more than one round trip.
    const others = Array.from({ length: 1200 }, () => job({ status: JobStatus.Completed }));
    for (const record of [...going, ended, plain, part, ...others]) await store.create(record);
    await redis.set('api-gpu:job:not-a-hash', 'x');

    const subscriber = new Redis(server.url);
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(JOB_EVENTS_CHANNEL);
    const recovery = new SplitRecovery(redis);

    const announced = await recovery.sweep();
    await redis.publish(JOB_EVENTS_CHANNEL, 'marker');
    await waitFor('the marker message', () => Promise.resolve(heard.includes('marker') || undefined));
    subscriber.disconnect();

    expect(announced).toBe(2);
    expect(heard.slice(0, -1).sort()).toEqual(going.map((record) => record.parts![0].id).sort());
  });
});
