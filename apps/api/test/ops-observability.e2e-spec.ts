import { JOB_QUEUES, WEBHOOK_QUEUE } from '@app/common';
import { randomUUID } from 'node:crypto';
import { ApiUnderTest } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { TestRedis, waitFor } from '../../../test/support/processes';

const BUCKET = 'api-gpu-ops';
const API_KEY = 'ops-test-key-0123456789';
const OTHER_KEY = 'ops-other-key-9876543210';

interface LogLine {
  req?: { id?: string; method?: string; path?: string };
}

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Logs, metrics, readiness, Bull Board and security headers of the API process, on a Redis of its own. */
describe('operability of the API process', () => {
  let deployment: Deployment;
  let redis: TestRedis;
  let api: ApiUnderTest;
  let baseUrl: string;
  let minioHostPort: string;

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  const metrics = async () => (await get('/metrics')).text();

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'ops-observability',
      bucket: { name: BUCKET },
      api: { RATE_LIMIT_MAX: '100000', LOG_LEVEL: 'info' },
      apiProcess: { keys: [API_KEY, OTHER_KEY] },
    });
    ({ api, redis } = deployment);
    baseUrl = api.url;
    minioHostPort = deployment.s3.hostPort;
  });

  afterAll(() => deployment?.stop());

  describe('logs', () => {
    it('are JSON lines carrying the request id, kept from X-Request-Id when the client sends one', async () => {
      const offered = await get('/runpod/config', { 'x-api-key': API_KEY, 'x-request-id': 'client-trace.42' });
      expect(offered.headers.get('x-request-id')).toBe('client-trace.42');
      const generated = await get('/runpod/config', { 'x-api-key': API_KEY });
      const generatedId = generated.headers.get('x-request-id') ?? '';
      expect(generatedId).toMatch(/^[0-9a-f-]{36}$/);
      const lines = await waitFor('both request lines', () => {
        const parsed = api.output
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as LogLine);
        const ours = parsed.filter((l) => ['client-trace.42', generatedId].includes(l.req?.id ?? ''));
        return Promise.resolve(ours.length === 2 ? ours : undefined);
      });
      expect(lines.map((l) => l.req)).toEqual([
        { id: 'client-trace.42', method: 'GET', path: '/runpod/config' },
        { id: generatedId, method: 'GET', path: '/runpod/config' },
      ]);
    });

    it('refuses a client request id that is not a plain token', async () => {
      const response = await get('/health', { 'x-request-id': 'evil" {"level":60}' });
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('put the job id on the lines of requests about a job', async () => {
      const jobId = randomUUID();
      expect((await get(`/job/${jobId}`, { 'x-api-key': API_KEY })).status).toBe(404);
      await waitFor('the line of the status request', () =>
        Promise.resolve(api.output.split('\n').some((l) => l.includes(`"jobId":"${jobId}"`)) || undefined),
      );
    });

    it('hold neither API keys nor query strings', async () => {
      await get(`/runpod/config?token=query-secret-${API_KEY}`, { 'x-api-key': API_KEY });
      await get('/runpod/config', { 'x-api-key': OTHER_KEY });
      await get('/runpod/config', { 'x-api-key': `${API_KEY}-wrong` });
      await waitFor('three more request lines', () =>
        Promise.resolve(api.output.split('/runpod/config').length >= 7 || undefined),
      );
      expect(api.output).not.toContain(API_KEY);
      expect(api.output).not.toContain(OTHER_KEY);
      expect(api.output).not.toContain('query-secret');
    });
  });

  describe('/metrics', () => {
    it('counts HTTP answers by route pattern and status, without a key', async () => {
      await get(`/job/${randomUUID()}`, { 'x-api-key': API_KEY });
      await get(`/job/${randomUUID()}`, { 'x-api-key': API_KEY });
      await get(`/no/such/route/${randomUUID()}`);
      const response = await get('/metrics');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      expect(
        metricValue(text, 'api_gpu_http_requests_total{method="GET",route="/job/:jobId",status="404"}'),
      ).toBeGreaterThanOrEqual(2);
      expect(metricValue(text, 'api_gpu_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
      expect(text).toContain('api_gpu_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/job/:jobId",status="404"}');
      expect(text).not.toMatch(/route="\/job\/[0-9a-f]{8}-/);
    });

    it('shows queue depth while a job waits, and counts the job by operation, executor and outcome once it ends', async () => {
      const submitted = await fetch(`${baseUrl}/video/caption`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', prefer: 'respond-async' },
        body: JSON.stringify({
          url_video: `http://${minioHostPort}/${BUCKET}/in/vídeo.mp4`,
          url_srt: `http://${minioHostPort}/${BUCKET}/in/legenda.srt`,
          path: 'ops/',
          output_filename: 'saída.mp4',
        }),
      });
      expect(submitted.status).toBe(202);
      const { jobId } = (await submitted.json()) as { jobId: string };
      expect(metricValue(await metrics(), 'api_gpu_queue_jobs{queue="caption",state="waiting"}')).toBe(1);
      expect(metricValue(await metrics(), 'api_gpu_queue_jobs{queue="webhooks",state="waiting"}')).toBe(0);

      const cancelled = await fetch(`${baseUrl}/job/${jobId}/cancel`, { method: 'POST', headers: { 'x-api-key': API_KEY } });
      expect(cancelled.status).toBe(200);
      const series = 'api_gpu_jobs_total{operation="caption",executor="local",outcome="cancelled"}';
      await waitFor('the cancelled job counted', async () => (metricValue(await metrics(), series) === 1 ? true : undefined));
      const text = await metrics();
      expect(metricValue(text, 'api_gpu_queue_jobs{queue="caption",state="waiting"}')).toBe(0);
      // Never started, so it has no run time and no queue wait to observe.
      expect(text).not.toContain('api_gpu_job_duration_seconds_count{operation="caption"');
    });

    it('lists live nodes and their free slots from their heartbeats', async () => {
      const nodeId = `ops-node-${process.pid}`;
      const node = await deployment.startNode({ id: nodeId, env: { HEARTBEAT_INTERVAL_MS: '300' } });
      try {
        // Its slot is free once its worker is ready.
        const text = await waitFor(
          'the node and its free slot in /metrics',
          async () => {
            const scraped = await metrics();
            return metricValue(scraped, `api_gpu_node_free_slots{node="${nodeId}"}`) === 1 ? scraped : undefined;
          },
          120_000,
        );
        expect(metricValue(text, 'api_gpu_nodes_live')).toBe(1);
        expect(metricValue(text, `api_gpu_node_slots{node="${nodeId}"}`)).toBe(1);
      } finally {
        await node.stop();
      }
    }, 180_000);
  });

  describe('/health/ready', () => {
    it("answers in Terminus's shape, 503 naming Redis while it is down, and recovers by itself", async () => {
      const ready = await get('/health/ready');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ok',
        info: { redis: { status: 'up' }, minio: { status: 'up', bucket: BUCKET } },
        error: {},
        details: { redis: { status: 'up' }, minio: { status: 'up', bucket: BUCKET } },
      });
      await redis.stop();
      try {
        const down = await waitFor('readiness 503', async () => {
          const response = await get('/health/ready');
          return response.status === 503 ? ((await response.json())) : undefined;
        });
        expect(down).toMatchObject({
          status: 'error',
          error: { redis: { status: 'down' } },
          info: { minio: { status: 'up' } },
        });
      } finally {
        await redis.start();
      }
      await waitFor('readiness 200 again', async () => ((await get('/health/ready')).status === 200 ? true : undefined));
    });
  });

  describe('Bull Board at /admin/queues', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

    it.each([
      ['no credentials', {}],
      ['a wrong key', { 'x-api-key': 'wrong-key' }],
      ['basic auth with a wrong password', { authorization: basic('admin', 'wrong-key') }],
      ['basic auth with the key as user name', { authorization: basic(API_KEY, '') }],
    ])('refuses %s with a 401 in the contract shape and a basic-auth challenge', async (_case, headers) => {
      const response = await get('/admin/queues', headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect(await response.json()).toEqual({ error: 'Unauthorized', message: 'Invalid or missing API key' });
    });

    it('refuses the key in the query string', async () => {
      expect((await get(`/admin/queues?api_key=${API_KEY}&x-api-key=${API_KEY}`)).status).toBe(401);
    });

    it.each([
      ['the X-API-Key header', { 'x-api-key': API_KEY }],
      ['basic auth with the key as password', { authorization: basic('operador', OTHER_KEY) }],
    ])('opens with %s and lists every queue', async (_case, headers) => {
      const page = await get('/admin/queues', headers);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      const queues = (await (await get('/admin/queues/api/queues', headers)).json()) as { queues: { name: string }[] };
      expect(queues.queues.map((q) => q.name).sort()).toEqual([...Object.values(JOB_QUEUES), WEBHOOK_QUEUE].sort());
    });
  });

  describe('security headers', () => {
    it("sends helmet's headers, with its content security policy on the API", async () => {
      const response = await get('/health');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    });

    it('lets Swagger UI run its inline code', async () => {
      const response = await get('/docs');
      expect(response.status).toBe(200);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toBeNull();
    });
  });
});

describe('per-key rate limiting (API process)', () => {
  let deployment: Deployment;
  let baseUrl: string;
  const limit = 3;

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(10_000) });

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'ops-rate-limit',
      bucket: { name: BUCKET },
      api: { RATE_LIMIT_MAX: String(limit), RATE_LIMIT_WINDOW_S: '600' },
      apiProcess: { keys: [API_KEY, OTHER_KEY] },
    });
    baseUrl = deployment.api.url;
  });

  afterAll(() => deployment?.stop());

  it('answers 429 with Retry-After in the contract shape past RATE_LIMIT_MAX, per key, across routes', async () => {
    const statuses = [];
    for (const path of ['/runpod/config', '/runpod/health', `/job/${randomUUID()}`]) {
      statuses.push((await get(path, { 'x-api-key': API_KEY })).status);
    }
    expect(statuses).toEqual([200, 200, 404]);
    const refused = await get('/runpod/config', { 'x-api-key': API_KEY });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toEqual({
      error: 'Too Many Requests',
      message: expect.stringMatching(/^Rate limit exceeded: at most 3 requests per 600 s per API key; retry after \d+ s$/),
    });
    expect((await get('/runpod/config', { 'x-api-key': OTHER_KEY })).status).toBe(200);
  });

  it('never turns away health probes or scrapers', async () => {
    for (let i = 0; i < limit * 3; i++) {
      expect((await get('/health/ready')).status).toBe(200);
      expect((await get('/metrics')).status).toBe(200);
    }
  });

  it('counts requests with wrong keys per client address, so keys cannot be guessed at full speed', async () => {
    const statuses = [];
    for (let i = 0; i < limit + 1; i++) statuses.push((await get('/runpod/config', { 'x-api-key': `guess-${i}` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
