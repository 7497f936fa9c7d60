import { ApiUnderTest } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { TestMinio, TestRedis, waitFor } from '../../../test/support/processes';

const BUCKET = 'health-test';

interface HealthBody {
  status: string;
  service: string;
  timestamp: string;
  uptime: number;
  checks: Record<string, { status: string; message?: string }>;
  nodes: { nodeId: string; slots: number }[];
  error?: string;
  message?: string;
}

/**
 * The API as a real process against real Redis and MinIO that this test owns, so it can stop
 * and restart them under the running API.
 */
describe('GET /health (API process, real Redis and MinIO)', () => {
  let deployment: Deployment;
  let redis: TestRedis;
  let minio: TestMinio;
  let api: ApiUnderTest;
  let baseUrl: string;

  const health = async (): Promise<{ code: number; body: HealthBody }> => {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(10_000) });
    return { code: response.status, body: (await response.json()) as HealthBody };
  };
  const healthWithCode = (code: number) =>
    waitFor(`/health answering ${code}`, async () => {
      const result = await health();
      return result.code === code ? result.body : undefined;
    });

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'health',
      ownMinio: true,
      bucket: { name: BUCKET },
      env: { HEARTBEAT_INTERVAL_MS: '300' },
      api: { CORS_ALLOW_ORIGINS: 'https://app.example.com, https://studio.example.com' },
      apiProcess: { keys: ['health-test-key'] },
    });
    ({ api, redis } = deployment);
    ({ minio } = deployment);
    baseUrl = api.url;
    await healthWithCode(200);
  });

  afterAll(() => deployment?.stop());

  it('answers the legacy fields without an API key, with Redis and MinIO up', async () => {
    const { code, body } = await health();
    expect(code).toBe(200);
    expect(body.status).toBe('healthy');
    expect(body.service).toBe('api-gpu');
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
    expect(Number.isInteger(body.uptime)).toBe(true);
    expect(body.checks.redis.status).toBe('up');
    expect(body.checks.minio.status).toBe('up');
  });

  it('allows exactly the origins in CORS_ALLOW_ORIGINS', async () => {
    const allowed = await fetch(`${baseUrl}/health`, {
      headers: { Origin: 'https://studio.example.com' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://studio.example.com');
    const other = await fetch(`${baseUrl}/health`, { headers: { Origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 503 naming MinIO while it is down, and 200 again once it is back', async () => {
    await minio.stop();
    const down = await healthWithCode(503);
    expect(down.status).toBe('unhealthy');
    expect(down.error).toBe('Service Unavailable');
    expect(down.message).toMatch(/^minio is down/);
    expect(down.checks.minio.status).toBe('down');
    expect(down.checks.redis.status).toBe('up');

    await minio.start();
    const up = await healthWithCode(200);
    expect(up.checks.minio.status).toBe('up');
    expect(api.running).toBe(true);
  });

  it('answers 503 naming Redis while it is down, and 200 again once it is back', async () => {
    await redis.stop();
    const down = await healthWithCode(503);
    expect(down.message).toMatch(/^redis is down/);
    expect(down.checks.redis.status).toBe('down');
    expect(down.checks.minio.status).toBe('up');

    await redis.start();
    await healthWithCode(200);
    expect(api.running).toBe(true);
  });

  it('lists a GPU node while it beats, and drops it when it stops', async () => {
    const node = await deployment.startNode({ id: 'test-node-1', concurrency: 2 }, { waitReady: false });
    try {
      const listed = await waitFor('node listed', async () => {
        const { body } = await health();
        return body.nodes.find((n) => n.nodeId === 'test-node-1');
      });
      expect(listed.slots).toBe(2);
    } finally {
      await node.stop();
    }
    const { body } = await health();
    expect(body.nodes.map((n) => n.nodeId)).not.toContain('test-node-1');
  });
});
