import Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnedProcess, REPO_ROOT, waitFor } from '../../../test/support/processes';
import { ApiUnderTest } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

jest.setTimeout(180_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789', carol: 'carol-key-0123456789', ops: 'ops-key-0123456789' };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function keysFile(dir: string): string {
  const file = join(dir, 'keys.yaml');
  writeFileSync(
    file,
    [
      'clients:',
      `  - { name: alice, role: client, key: ${KEYS.alice} }`,
      `  - { name: bob, role: client, key_sha256: ${sha256(KEYS.bob)} }`,
      `  - { name: carol, role: client, key: ${KEYS.carol}, limits: { max_concurrent_jobs: 2 } }`,
      `  - { name: ops, role: admin, key_sha256: ${sha256(KEYS.ops)} }`,
    ].join('\n'),
  );
  return file;
}

/**
 * Clients of one API (API_KEYS_FILE with hashed and plain keys, and X_API_KEY's admin keys) over a
 * real Redis: no GPU node, so accepted jobs stay queued, which is what isolation, idempotency and
 * the concurrency quota are about.
 */
describe('clients of one API: isolation, idempotency, concurrency quota (API, Redis)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-gpu-tenancy-'));
  let deployment: Deployment;
  let client: Redis;
  let api: ApiUnderTest;
  let sequence = 0;

  /** A caption request of its own (its inputs in the bucket, so no address is looked up); no node runs it. */
  const captionBody = (extra: Body = {}) => ({
    url_video: `${deployment.s3.publicUrl}/tenancy/in/v.mp4`,
    url_srt: `${deployment.s3.publicUrl}/tenancy/in/s.srt`,
    path: `tenancy/${++sequence}/`,
    output_filename: 'v.mp4',
    async: true,
    ...extra,
  });
  const submit = (key: string, body: Body, headers: Record<string, string> = {}) =>
    api.call<Body>('POST', '/video/caption', { key, body, headers });
  const queuedCaptions = () => client.llen('bull:caption:wait');

  beforeAll(async () => {
    // No node runs the jobs: a synchronous request (the OpenAI routes) gives up waiting after 1 s.
    deployment = await startDeployment({ name: 'e2e-tenancy', env: { API_KEYS_FILE: keysFile(dir), SYNC_TIMEOUT_S: '1' } });
    ({ api, client } = deployment);
  });

  afterAll(async () => {
    await deployment?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('isolation', () => {
    let jobId: string;

    beforeAll(async () => {
      const accepted = await submit(KEYS.alice, captionBody());
      expect(accepted.status).toBe(202);
      jobId = accepted.body.jobId as string;
    });

    it('records the owning client on the job', async () => {
      expect(JSON.parse((await client.hget(`api-gpu:job:${jobId}`, 'client')) as string)).toBe('alice');
    });

    it('shows the owner its job, with X-API-Key or Bearer', async () => {
      expect((await api.call('GET', `/job/${jobId}`, { key: KEYS.alice })).status).toBe(200);
      const bearer = await api.call('GET', `/video/job/${jobId}`, { key: null, headers: { Authorization: `Bearer ${KEYS.alice}` } });
      expect(bearer.status).toBe(200);
    });

    it.each([
      ['status', 'GET', (id: string) => `/job/${id}`],
      ['legacy status', 'GET', (id: string) => `/video/job/${id}`],
      ['result', 'GET', (id: string) => `/video/job/${id}/result`],
      ['cancel', 'POST', (id: string) => `/job/${id}/cancel`],
    ])("answers another client's %s exactly as for a job that does not exist", async (_route, method, path) => {
      const missing = '00000000-0000-4000-8000-000000000000';
      const foreign = await api.call<Body>(method, path(jobId), { key: KEYS.bob });
      const absent = await api.call<Body>(method, path(missing), { key: KEYS.bob });
      expect(foreign.status).toBe(404);
      expect(absent.status).toBe(404);
      expect(foreign.body).toEqual(JSON.parse(JSON.stringify(absent.body).replaceAll(missing, jobId)));
    });

    it("leaves the job alone when another client tries to cancel it", async () => {
      await api.call('POST', `/job/${jobId}/cancel`, { key: KEYS.bob });
      expect((await api.call<Body>('GET', `/job/${jobId}`, { key: KEYS.alice })).body.status).toBe('IN_QUEUE');
    });

    it("shows every client's job to an admin: X_API_KEY's keys and the file's hashed admin", async () => {
      expect((await api.call('GET', `/job/${jobId}`)).status).toBe(200);
      expect((await api.call('GET', `/job/${jobId}`, { key: KEYS.ops })).status).toBe(200);
    });

    it('opens Bull Board to admins only', async () => {
      expect((await api.call('GET', '/admin/queues', { key: null })).status).toBe(401);
      const forbidden = await api.call<Body>('GET', '/admin/queues', { key: KEYS.alice });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toMatchObject({ error: 'Forbidden' });
      expect((await api.call('GET', '/admin/queues', { key: KEYS.ops })).status).toBe(200);
      expect((await api.call('GET', '/admin/queues')).status).toBe(200);
    });
  });

  describe('Idempotency-Key', () => {
    it('answers a repeat with the same job and queues nothing more', async () => {
      const body = captionBody();
      const first = await submit(KEYS.alice, body, { 'Idempotency-Key': 'order-1' });
      const queued = await queuedCaptions();
      // The same request, its fields in another order.
      const reordered = Object.fromEntries(Object.entries(body).reverse());
      const repeat = await submit(KEYS.alice, reordered, { 'Idempotency-Key': 'order-1' });
      expect(first.status).toBe(202);
      expect(repeat.status).toBe(202);
      expect(repeat.body.jobId).toBe(first.body.jobId);
      expect(await queuedCaptions()).toBe(queued);
    });

    it('refuses the same key with another request: 422 naming the header, nothing queued', async () => {
      await submit(KEYS.alice, captionBody(), { 'Idempotency-Key': 'order-2' });
      const queued = await queuedCaptions();
      const changed = await submit(KEYS.alice, captionBody(), { 'Idempotency-Key': 'order-2' });
      expect(changed.status).toBe(422);
      expect(changed.body).toEqual({ error: 'Unprocessable Entity', message: expect.stringContaining('different request'), field: 'Idempotency-Key' });
      expect(await queuedCaptions()).toBe(queued);
    });

    it('keeps keys apart per client', async () => {
      const body = captionBody();
      const alice = await submit(KEYS.alice, body, { 'Idempotency-Key': 'shared-key' });
      const bob = await submit(KEYS.bob, body, { 'Idempotency-Key': 'shared-key' });
      expect(bob.status).toBe(202);
      expect(bob.body.jobId).not.toBe(alice.body.jobId);
    });

    it('makes one job of concurrent duplicates', async () => {
      const body = captionBody();
      const queued = await queuedCaptions();
      const answers = await Promise.all(Array.from({ length: 12 }, () => submit(KEYS.alice, body, { 'Idempotency-Key': 'burst-1' })));
      expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(202));
      expect(new Set(answers.map((answer) => String(answer.body.jobId))).size).toBe(1);
      expect(await queuedCaptions()).toBe(queued + 1);
    });

    it('answers a repeat after the job ended with its final answer', async () => {
      const body = captionBody();
      const first = await submit(KEYS.alice, body, { 'Idempotency-Key': 'ended-1' });
      expect((await api.call('POST', `/job/${first.body.jobId}/cancel`, { key: KEYS.alice })).status).toBe(200);
      const queued = await queuedCaptions();
      const repeat = await submit(KEYS.alice, body, { 'Idempotency-Key': 'ended-1' });
      // What the first request, had it waited (sync), would have answered once its job ended.
      expect(repeat.status).toBe(409);
      expect(repeat.body).toMatchObject({ error: 'Conflict', message: `Job ${first.body.jobId} was cancelled`, stats: { jobId: first.body.jobId } });
      expect(await queuedCaptions()).toBe(queued);
    });

    it('gives a repeated OpenAI transcription the same job, although its upload and output folder are named anew', async () => {
      // Not audio: no node runs the job, and the API stores an upload as it comes.
      const file = new Blob([Buffer.from('RIFF-not-really-audio')], { type: 'audio/wav' });
      const transcribe = (language?: string) => {
        const form = new FormData();
        form.set('file', file, 'fala.wav');
        form.set('model', 'whisper-1');
        if (language) form.set('language', language);
        return fetch(`${api.url}/v1/audio/transcriptions`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${KEYS.alice}`, 'Idempotency-Key': 'openai-1' },
          body: form,
        });
      };
      const queued = await client.llen('bull:transcribe:wait');
      const first = await transcribe();
      expect(first.status).toBe(504);
      const jobId = first.headers.get('x-job-id');
      expect(jobId).toBeTruthy();
      const repeat = await transcribe();
      expect(repeat.status).toBe(504);
      expect(repeat.headers.get('x-job-id')).toBe(jobId);
      expect(await client.llen('bull:transcribe:wait')).toBe(queued + 1);
      expect((await transcribe('pt')).status).toBe(422);
    });

    it('refuses a malformed key with 400 naming the header', async () => {
      const answer = await submit(KEYS.alice, captionBody(), { 'Idempotency-Key': 'x'.repeat(256) });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'Bad Request', field: 'Idempotency-Key' });
    });
  });

  describe('max_concurrent_jobs', () => {
    it("answers a client past its limit 429 with Retry-After naming the limit, and queues nothing", async () => {
      for (let i = 0; i < 2; i += 1) expect((await submit(KEYS.carol, captionBody())).status).toBe(202);
      const queued = await queuedCaptions();
      const records = (await client.keys('api-gpu:job:*')).length;
      const refused = await submit(KEYS.carol, captionBody());
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ error: 'Too Many Requests', limit: 'max_concurrent_jobs' });
      expect(refused.body.message).toContain('carol');
      expect(await queuedCaptions()).toBe(queued);
      expect((await client.keys('api-gpu:job:*')).length).toBe(records);
      // Other clients are not held back by carol's limit.
      expect((await submit(KEYS.bob, captionBody())).status).toBe(202);
    });

    it('admits again once one of its jobs has ended', async () => {
      const { body } = await api.call<Body>('POST', '/video/caption', { key: KEYS.carol, body: captionBody() });
      expect(body.limit).toBe('max_concurrent_jobs');
      const ids = await client.zrange('api-gpu:key-jobs:carol', 0, -1);
      expect((await api.call('POST', `/job/${ids[0]}/cancel`, { key: KEYS.carol })).status).toBe(200);
      expect((await submit(KEYS.carol, captionBody())).status).toBe(202);
    });
  });

  describe('Idempotency-Key expiry', () => {
    let shortLived: ApiUnderTest;

    beforeAll(async () => {
      shortLived = await deployment.startApi({ IDEMPOTENCY_TTL_HOURS: '0.001' });
    });

    it('makes a new job of a repeat once IDEMPOTENCY_TTL_HOURS has passed', async () => {
      const body = captionBody();
      const send = () => shortLived.call<Body>('POST', '/video/caption', { key: KEYS.alice, body, headers: { 'Idempotency-Key': 'expiring-1' } });
      const first = await send();
      const entry = `api-gpu:idempotency:alice:${sha256('expiring-1')}`;
      expect(await client.pttl(entry)).toBeGreaterThan(0);
      await waitFor('the Idempotency-Key to expire', async () => ((await client.exists(entry)) === 0 ? true : undefined), 30_000);
      const later = await send();
      expect(later.status).toBe(202);
      expect(later.body.jobId).not.toBe(first.body.jobId);
    });
  });
});

describe('API_KEYS_FILE is validated at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-gpu-keysfile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits naming the variable, the file and the entry, never printing a key', async () => {
    const file = join(dir, 'keys.yaml');
    writeFileSync(file, 'clients:\n  - { name: alice, key: alice-secret-key }\n  - { name: bob, key: bob-secret-key, role: root }\n');
    const child = new OwnedProcess('node', [join(REPO_ROOT, 'dist/apps/api/main.js')], {
      X_API_KEY: 'config-test-key',
      S3_ACCESS_KEY: 'config-test-access',
      S3_SECRET_KEY: 'config-test-secret-value',
      REDIS_URL: 'redis://127.0.0.1:1',
      ENV_FILE: '/dev/null',
      PORT: '1',
      HOST: '192.0.2.1',
      API_KEYS_FILE: file,
    }).start();
    expect(await child.exitCode()).toBe(1);
    expect(child.output).toContain(`API_KEYS_FILE (${file}) clients[1] (bob): role must be admin or client`);
    expect(child.output).not.toMatch(/secret-key/);
  });
});
