import type Redis from 'ioredis';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { freePort, waitFor } from '../../../test/support/processes';
import { API_MAIN } from './support/api-process';

const BUCKET = 'api-gpu-ops';
const API_KEY = 'shutdown-test-key-0123456789';

/**
 * SIGTERM with a request in flight: the API stops accepting connections at once, still answers
 * the request it holds (a sync job with no GPU node gets the 202 of SYNC_TIMEOUT_S), then closes
 * Redis and exits by itself (Nest re-raises SIGTERM once its hooks are done); the job stays queued.
 */
describe('graceful shutdown of the API process', () => {
  let deployment: Deployment;
  let redisClient: Redis;

  // The API is started by the test itself: how that one process ends is what it checks.
  beforeAll(async () => {
    deployment = await startDeployment({ name: 'ops-shutdown', bucket: { name: BUCKET }, api: false });
    redisClient = deployment.client;
  });

  afterAll(() => deployment?.stop());

  it('answers the request in flight after SIGTERM while refusing new connections, then exits', async () => {
    const minio = deployment.s3.hostPort;
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const api = spawn('node', [API_MAIN], {
      env: {
        PATH: process.env.PATH,
        ENV_FILE: '/dev/null',
        ...deployment.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        X_API_KEY: API_KEY,
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
