import { JobStore } from '@app/common';
import Redis from 'ioredis';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestRedis, waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

jest.setTimeout(600_000);

// Bodies are checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const LOCAL_PRICE = 0.001;
const RUNPOD_PRICE = 0.01;
const ACME_KEY = `acme-${Math.random().toString(36).slice(2)}`;
const ZETA_KEY = `zeta-${Math.random().toString(36).slice(2)}`;

/**
 * The usage ledger end to end: an API process in hybrid mode, a real GPU node and the RunPod
 * stand-in running the real worker, Redis with AOF. The ledger's totals are checked against the
 * records of the jobs that actually ran.
 */
describe('usage ledger (API, GPU node, RunPod stand-in, Redis with AOF)', () => {
  const keysFile = join(tmpdir(), `api-gpu-usage-keys-${process.pid}.json`);
  let deployment: Deployment;
  let redis: TestRedis;
  let client: Redis;
  let store: JobStore;
  let media: TestMedia;
  let api: ApiUnderTest;
  const today = new Date().toISOString().slice(0, 10);
  const jobs: Record<string, string> = {};

  const usage = (key: string, query = '', headers: Record<string, string> = {}) =>
    api.call<Body>('GET', `/usage?from=${today}&to=${today}${query}`, { key, headers });
  const untilCounted = (key: string, count: number) =>
    waitFor(`${count} jobs in the ledger`, async () => {
      const { body } = await usage(key);
      return body.totals?.jobs === count ? body : undefined;
    });

  beforeAll(async () => {
    writeFileSync(
      keysFile,
      JSON.stringify({
        clients: [
          { name: 'acme', role: 'client', key: ACME_KEY },
          // Less than any job uses, however fast the machine: zeta's first caption passes, its second is refused.
          { name: 'zeta', role: 'client', key: ZETA_KEY, limits: { monthly_gpu_seconds: 0.01 } },
        ],
      }),
    );
    deployment = await startDeployment({
      name: 'e2e-usage',
      persistentRedis: true,
      media: ['video.mp4', 'legendas.srt', 'audio.mp3', 'image.jpg'],
      runpod: true,
      env: { SYNC_TIMEOUT_S: '240', LOCAL_GPU_PRICE_PER_S: String(LOCAL_PRICE), RUNPOD_PRICE_PER_S: String(RUNPOD_PRICE) },
      api: {
        API_KEYS_FILE: keysFile,
        EXECUTOR_MODE: 'hybrid',
        RUNPOD_EXECUTION_TIMEOUT: '120',
        // A batch of three images runs as two parts (acme's two-image batch is not split).
        IMG2VID_SPLIT_THRESHOLD: '2',
        MAX_WORKERS: '2',
      },
      nodes: ['usage-node'],
    });
    ({ api, media, redis } = deployment);
    client = new Redis(redis.url);
    store = new JobStore(client);

    const addaudio = await api.call<Body>('POST', '/video/addaudio', {
      key: ACME_KEY,
      body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}acme/`, output_filename: 'usage.mp4', executor: 'local' },
    });
    const img2vid = await api.call<Body>('POST', '/video/img2vid', {
      key: ACME_KEY,
      body: {
        images: [
          { id: 'a', image_url: media.urls['image.jpg'], duracao: 1 },
          { id: 'b', image_url: media.urls['image.jpg'], duracao: 1 },
        ],
        path: `${media.prefix}acme-runpod/`,
        executor: 'runpod',
      },
    });
    const caption = await api.call<Body>('POST', '/video/caption', {
      key: ZETA_KEY,
      body: { url_video: media.urls['video.mp4'], url_srt: media.urls['legendas.srt'], path: `${media.prefix}zeta/`, output_filename: 'usage.mp4', executor: 'local' },
    });
    for (const answer of [addaudio, img2vid, caption]) expect([answer.status, answer.body]).toEqual([200, expect.objectContaining({ status: 'COMPLETED' })]);
    expect([addaudio.body.executor, img2vid.body.executor, caption.body.executor]).toEqual(['local', 'runpod', 'local']);
    jobs.addaudio = addaudio.body.jobId;
    jobs.img2vid = img2vid.body.jobId;
    jobs.caption = caption.body.jobId;
    await untilCounted(api.key, 3);
  }, 600_000);

  afterAll(async () => {
    client?.disconnect();
    await deployment?.stop();
    rmSync(keysFile, { force: true });
  });

  it("totals a client's jobs as they ran: the node's run time and RunPod's executionTime, priced", async () => {
    const local = await store.get(jobs.addaudio);
    const remote = await store.get(jobs.img2vid);
    const used = local?.output?.usage as Body;
    const executionS = (remote?.remoteTimings?.executionTime ?? 0) / 1000;
    expect(used.run_s).toBeGreaterThan(0);
    expect(executionS).toBeGreaterThan(0);

    const { status, body } = await usage(ACME_KEY, '&group_by=executor');
    expect(status).toBe(200);
    expect(body).toMatchObject({ from: today, to: today, client: 'acme', group_by: 'executor' });
    expect(body.totals).toMatchObject({ jobs: 2, completed: 2, failed: 0, images: 2 });
    // The 2 s clip and the 1 s audio read; 1 s of video written by addaudio and two 1 s clips by img2vid.
    expect(body.totals.media_in_s).toBeCloseTo(3, 0);
    expect(body.totals.media_out_s).toBeCloseTo(3, 0);
    expect(body.totals.gpu_seconds).toBeCloseTo(used.run_s + executionS, 3);
    expect(body.totals.runpod_execution_s).toBeCloseTo(executionS, 3);
    expect(body.totals.device_cpu_s).toBeGreaterThan(0);
    expect(body.totals.cost).toBeCloseTo(used.run_s * LOCAL_PRICE + executionS * RUNPOD_PRICE, 5);
    expect(body.groups).toEqual([
      expect.objectContaining({ executor: 'local', jobs: 1, images: 0, runpod_execution_s: 0 }),
      expect.objectContaining({ executor: 'runpod', jobs: 1, images: 2 }),
    ]);
    expect(body.groups[1].runpod_execution_s).toBeCloseTo(executionS, 3);
  });

  it('shows a client only its own usage; an admin sees every client and may pick one', async () => {
    const other = await usage(ACME_KEY, '&client=zeta');
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ error: 'Forbidden', field: 'client' });
    expect(other.body.message).toContain('client');
    expect((await usage(ZETA_KEY)).body.totals.jobs).toBe(1);

    const all = await usage(api.key, '&group_by=client');
    expect(all.body.totals.jobs).toBe(3);
    expect((all.body.groups as Body[]).map((group) => [group.client as string, group.jobs as number])).toEqual([['acme', 2], ['zeta', 1]]);
    const zeta = await usage(api.key, '&client=zeta&group_by=operation');
    expect(zeta.body.groups).toEqual([expect.objectContaining({ operation: 'caption', jobs: 1 })]);
    const local = await store.get(jobs.caption);
    expect(zeta.body.totals.gpu_seconds).toBeCloseTo((local?.output?.usage as Body).run_s, 3);
  });

  it('answers CSV for Accept: text/csv and format=csv; a bad parameter is a 400 naming it', async () => {
    const byHeader = await usage(ACME_KEY, '&group_by=operation', { Accept: 'text/csv' });
    expect(byHeader.status).toBe(200);
    expect(byHeader.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...rows] = byHeader.text.trimEnd().split('\r\n');
    const columns = header.split(',');
    expect(columns.slice(0, 5)).toEqual(['from', 'to', 'client', 'operation', 'jobs']);
    const cells = rows.map((row) => Object.fromEntries(row.split(',').map((cell, index) => [columns[index], cell])));
    expect(cells.map((row) => [row.client, row.operation, row.jobs])).toEqual([
      ['acme', 'addaudio', '1'],
      ['acme', 'img2vid', '1'],
    ]);
    const json = await usage(ACME_KEY, '&group_by=operation');
    expect(Number(cells[1].gpu_seconds)).toBeCloseTo(json.body.groups[1].gpu_seconds, 6);
    const byQuery = await usage(ACME_KEY, '&format=csv');
    expect(byQuery.text.split('\r\n')).toHaveLength(3);

    for (const [query, field] of [
      ['&group_by=week', 'group_by'],
      ['&format=xml', 'format'],
    ]) {
      const bad = await usage(ACME_KEY, query);
      expect([bad.status, bad.body.field]).toEqual([400, field]);
    }
    const badDay = await api.call<Body>('GET', '/usage?from=2026-02-30', { key: ACME_KEY });
    expect([badDay.status, badDay.body.error, badDay.body.field]).toEqual([400, 'Bad Request', 'from']);
  });

  it('refuses a client past its monthly budget with a 429 naming the limit, and queues nothing', async () => {
    const before = (await client.keys('api-gpu:job:*')).length;
    const { status, headers, body } = await api.call<Body>('POST', '/video/caption', {
      key: ZETA_KEY,
      body: { url_video: media.urls['video.mp4'], url_srt: media.urls['legendas.srt'], path: `${media.prefix}zeta-2/`, output_filename: 'usage.mp4', executor: 'local' },
    });
    expect(status).toBe(429);
    expect(body).toMatchObject({ error: 'Too Many Requests', limit: 'monthly_gpu_seconds' });
    expect(body.message).toContain('monthly_gpu_seconds');
    const now = new Date();
    const untilNextMonth = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) - now.getTime()) / 1000;
    const retryAfter = Number(headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(untilNextMonth - 60);
    expect(retryAfter).toBeLessThanOrEqual(untilNextMonth + 1);
    expect((await client.keys('api-gpu:job:*')).length).toBe(before);
    // Another client is not held back by zeta's budget.
    const acme = await api.call<Body>('POST', '/video/caption', {
      key: ACME_KEY,
      body: { url_video: media.urls['video.mp4'], url_srt: media.urls['legendas.srt'], path: `${media.prefix}acme-2/`, output_filename: 'usage.mp4', executor: 'local', async: true },
    });
    expect(acme.status).toBe(202);
    jobs.acmeAsync = acme.body.jobId;
    await untilCounted(api.key, 4);
  });

  it('counts each configured client on /metrics', async () => {
    const { text } = await api.call('GET', '/metrics', { key: null });
    expect(text).toMatch(/^api_gpu_client_jobs_total\{client="acme"\} 3$/m);
    expect(text).toMatch(/^api_gpu_client_jobs_total\{client="zeta"\} 1$/m);
    const acme = await usage(api.key, '&client=acme');
    const gpuSeconds = Number(/^api_gpu_client_gpu_seconds_total\{client="acme"\} (\S+)$/m.exec(text)?.[1]);
    expect(gpuSeconds).toBeCloseTo(acme.body.totals.gpu_seconds, 5);
    const cost = Number(/^api_gpu_client_cost_total\{client="zeta"\} (\S+)$/m.exec(text)?.[1]);
    expect(cost).toBeGreaterThan(0);
  });

  it('counts a split batch as its parts, the jobs that ran, and never also as itself', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/img2vid', {
      body: {
        images: ['a', 'b', 'c'].map((id) => ({ id, image_url: media.urls['image.jpg'], duracao: 1 })),
        path: `${media.prefix}split/`,
        executor: 'local',
      },
    });
    expect([status, body.status, body.executor]).toEqual([200, 'COMPLETED', 'split']);
    const parent = await store.get(body.jobId);
    expect(parent?.parts).toHaveLength(2);
    const admin = await waitFor('the parts in the ledger', async () => {
      const answer = await usage(api.key, `&client=${parent?.client}`);
      return answer.body.totals?.jobs === 2 ? answer.body : undefined;
    });
    expect(admin.totals).toMatchObject({ jobs: 2, completed: 2, images: 3 });
    expect(admin.totals.media_out_s).toBeCloseTo(3, 0);
    expect(await client.get(`api-gpu:usage:entry:${body.jobId}`)).toBeNull();
    for (const part of parent?.parts ?? []) {
      const entry = JSON.parse((await client.get(`api-gpu:usage:entry:${part.id}`)) ?? '{}') as Body;
      expect(entry).toMatchObject({ client: parent?.client, operation: 'img2vid', images: part.count });
    }
  });

  it('survives a restart of the API and of Redis (AOF)', async () => {
    const before = (await usage(api.key, '&group_by=client')).body;
    await api.stop();
    client.disconnect();
    await redis.stop();
    await redis.start();
    client = new Redis(redis.url);
    await api.start();
    expect((await usage(api.key, '&group_by=client')).body).toEqual(before);
    expect((await api.call<Body>('POST', '/video/caption', {
      key: ZETA_KEY,
      body: { url_video: media.urls['video.mp4'], url_srt: media.urls['legendas.srt'], path: `${media.prefix}zeta-3/`, output_filename: 'usage.mp4' },
    })).status).toBe(429);
  });
});
