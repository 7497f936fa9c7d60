import Redis from 'ioredis';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { TestRedis, freePort, waitFor } from '../../../test/support/processes';
import { API_MAIN, ensureBucket, s3ClientFor, testS3Env } from './support/api-process';

const BUCKET = 'api-gpu-ops';
const API_KEY = 'shutdown-test-key-0123456789';

/**
 * SIGTERM with a request in flight: the API stops accepting connections at once, still answers
 * the request it holds (a sync job with no GPU node gets the 202 of SYNC_TIMEOUT_S), then closes
 * Redis and exits by itself (Nest re-raises SIGTERM once its hooks are done); the job stays queued.
 */
describe('graceful shutdown of the API process', () => {
  let redis: TestRedis;
  let redisClient: Redis;

  beforeAll(async () => {
    redis = await TestRedis.create();
    await redis.start();
    redisClient = new Redis(redis.url);
  });

  afterAll(async () => {
    redisClient?.disconnect();
    await redis?.dispose();
  });

  it('answers the request in flight after SIGTERM while refusing new connections, then exits', async () => {
    const s3Env = testS3Env(BUCKET);
    const s3 = s3ClientFor(s3Env);
    await ensureBucket(s3, BUCKET);
    s3.destroy();
    const minio = new URL(s3Env.S3_ENDPOINT_URL ?? '').host;
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const api = spawn('node', [API_MAIN], {
      env: {
        PATH: process.env.PATH,
        ENV_FILE: '/dev/null',
        ...s3Env,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        REDIS_URL: redis.url,
        X_API_KEY: API_KEY,
        PRIVATE_URL_ALLOWLIST: minio,
        SYNC_TIMEOUT_S: '4',
      },
      stdio: 'ignore',
    });
    const exited = once(api, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await waitFor('API ready', async () => ((await fetch(`${baseUrl}/health/ready`)).ok ? true : undefined));
      let answered = false;
      const inFlight = fetch(`${baseUrl}/video/caption`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({
          url_video: `http://${minio}/${BUCKET}/in/v.mp4`,
          url_srt: `http://${minio}/${BUCKET}/in/s.srt`,
          path: 'shutdown/',
          output_filename: 'desligamento.mp4',
        }),
      }).then(async (response) => {
        answered = true;
        return { status: response.status, body: (await response.json()) as { jobId?: string; status?: string } };
      });
      await waitFor('the job queued', async () => ((await redisClient.llen('bull:caption:wait')) === 1 ? true : undefined));

      api.kill('SIGTERM');
      const refusedWhilePending = await waitFor('new connections refused', () =>
        fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) }).then(
          () => undefined,
          (error: { cause?: { code?: string } }) =>
            error.cause?.code === 'ECONNREFUSED' ? { answeredAlready: answered } : undefined,
        ),
      );

      expect(refusedWhilePending).toEqual({ answeredAlready: false });
      const reply = await inFlight;
      expect(reply.status).toBe(202);
      expect(reply.body).toMatchObject({ status: 'IN_QUEUE', jobId: expect.any(String) });
      expect(await exited).toEqual([null, 'SIGTERM']);
      expect(await redisClient.lrange('bull:caption:wait', 0, -1)).toEqual([reply.body.jobId]);
    } finally {
      if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
    }
  });
});
