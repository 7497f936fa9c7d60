import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TestRedis, waitFor } from '../../../../test/support/processes';
import { parseJobEvent } from './job-event';
import { JOB_EVENTS_CHANNEL, jobKey } from './job-keys';
import type { JobRecord } from './job-record';
import { JobStatus } from './job-status';
import { JobStore } from './job-store';

describe('JobStore', () => {
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

  const newJob = (): JobRecord => ({
    id: randomUUID(),
    operation: 'img2vid',
    status: JobStatus.InQueue,
    input: { path: 'Projeto Ação/', images: [{ id: 'a', image_url: 'http://x/a.png', duracao: 2.5 }] },
    executor: 'local',
    progress: 0,
    createdAt: new Date().toISOString(),
  });

  it('reads back what it stored, nested values and accents included', async () => {
    const job = newJob();
    await store.create(job);
    expect(await store.get(job.id)).toEqual(job);
    expect(await store.get(randomUUID())).toBeNull();
  });

  it('lets exactly one of a completion and a cancel win, whichever comes first', async () => {
    const job = newJob();
    await store.create(job);
    const outcomes = await Promise.all([
      store.finish(job.id, JobStatus.Completed, { output: { videos: [] } }, 0),
      store.finish(job.id, JobStatus.Cancelled, {}, 0),
    ]);
    expect([...outcomes].sort()).toEqual(['applied', 'refused']);
    const ended = await store.get(job.id);
    expect(ended?.status).toBe(outcomes[0] === 'applied' ? JobStatus.Completed : JobStatus.Cancelled);
    expect(ended?.endedAt).toEqual(expect.any(String));
    expect(await store.updateActive(job.id, { progress: 50 })).toBe('refused');
    expect(await store.annotate(job.id, { webhook: { status: 'delivered', attempts: 1 } })).toBe('applied');
  });

  it('peeks at some fields of several records in one round trip, null for a missing one', async () => {
    const job = newJob();
    await store.create(job);
    await store.updateActive(job.id, { progress: 42, startedAt: '2026-12-04T10:00:00.000Z' });
    const [peeked, missing] = await store.peek([job.id, randomUUID()], ['progress', 'startedAt', 'parentId']);
    expect(peeked).toEqual({ status: JobStatus.InQueue, progress: 42, startedAt: '2026-12-04T10:00:00.000Z' });
    expect(missing).toBeNull();
  });

  it('reports a missing job instead of creating one', async () => {
    const id = randomUUID();
    expect(await store.updateActive(id, { progress: 10 })).toBe('missing');
    expect(await redis.exists(jobKey(id))).toBe(0);
  });

  it('starts the retention clock when a job ends, not before', async () => {
    const job = newJob();
    await store.create(job);
    await store.updateActive(job.id, { status: JobStatus.InProgress, progress: 10 });
    expect(await redis.pttl(jobKey(job.id))).toBe(-1);
    await store.finish(job.id, JobStatus.Failed, { failure: { error: 'Bad Request', message: 'x' } }, 60_000);
    const ttl = await redis.pttl(jobKey(job.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('announces every applied change on the events channel with its status, progress and parent, and no refused one', async () => {
    const subscriber = new Redis(server.url);
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(JOB_EVENTS_CHANNEL);
    const job = newJob();
    await store.create({ ...job, parentId: 'parent-of-nothing' });
    await store.updateActive(job.id, { progress: 20.5 });
    await store.finish(job.id, JobStatus.Completed, { progress: 100 }, 0);
    await store.updateActive(job.id, { progress: 90 });
    // Messages from one connection arrive in order: once the marker is heard, so is all before it.
    await redis.publish(JOB_EVENTS_CHANNEL, 'marker');
    await waitFor('the marker message', () => Promise.resolve(heard.includes('marker') || undefined));
    subscriber.disconnect();
    expect(heard.map(parseJobEvent)).toEqual([
      { id: job.id, status: JobStatus.InQueue, progress: 20.5, parentId: 'parent-of-nothing' },
      { id: job.id, status: JobStatus.Completed, progress: 100, parentId: 'parent-of-nothing' },
      { id: 'marker' },
    ]);
  });

  it("brings a split parent's progress (weighted by images) and start up to date with each change of a part, in the same step", async () => {
    const parent = { ...newJob(), executor: 'split' as const };
    const parts = [
      { ...newJob(), parentId: parent.id },
      { ...newJob(), parentId: parent.id },
    ];
    await store.create({ ...parent, parts: [{ id: parts[0].id, start: 0, count: 1, executor: 'local' }, { id: parts[1].id, start: 1, count: 3, executor: 'local' }] });
    for (const part of parts) await store.create(part);
    const head = async () => (await store.peek([parent.id], ['progress', 'startedAt']))[0];

    expect(await store.updateActive(parts[1].id, { status: JobStatus.InProgress, startedAt: '2026-12-05T10:00:02.000Z', progress: 0 })).toBe('applied');
    expect(await head()).toEqual({ status: JobStatus.InProgress, progress: 0, startedAt: '2026-12-05T10:00:02.000Z' });
    await store.updateActive(parts[1].id, { progress: 50 });
    expect(await head()).toMatchObject({ progress: 37 });
    await store.updateActive(parts[0].id, { status: JobStatus.InProgress, startedAt: '2026-12-05T10:00:01.000Z', progress: 10 });
    // The first start stands once the parent has one; progress is floor((10 x 1 + 50 x 3) / 4).
    expect(await head()).toEqual({ status: JobStatus.InProgress, progress: 40, startedAt: '2026-12-05T10:00:02.000Z' });
    await store.finish(parts[0].id, JobStatus.Completed, { progress: 100 }, 0);
    expect(await head()).toMatchObject({ progress: 62 });

    // An ended parent is left as it ended.
    await store.finish(parent.id, JobStatus.Cancelled, {}, 0);
    await store.updateActive(parts[1].id, { progress: 80 });
    expect(await head()).toMatchObject({ status: JobStatus.Cancelled, progress: 62 });
  });
});
