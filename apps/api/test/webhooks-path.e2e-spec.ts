import { BULL_PREFIX, JOB_KEY_PREFIX } from '@app/common';
import type Redis from 'ioredis';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

const SECRET = 'webhooks-path-e2e-secret-0123456789';
const NODE_ID = 'webhooks-e2e-node';

jest.setTimeout(300_000);

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface JobStatusBody {
  status: string;
  output: Record<string, unknown> | null;
  webhook?: { status: string; attempts?: number; lastError?: string };
}

/** The receiver's side of the documented scheme, written from the documentation. */
function signatureIsValid(delivery: Delivery): boolean {
  const timestamp = String(delivery.headers['x-webhook-timestamp']);
  const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${delivery.body}`).digest('hex')}`;
  const actual = String(delivery.headers['x-signature']);
  return actual.length === expected.length && timingSafeEqual(Buffer.from(actual), Buffer.from(expected));
}

/**
 * A webhook from request to receiver: the API process takes an async job with webhook_url, a GPU
 * node process runs it with its Python worker and MinIO, and the API delivers the final body to a
 * local receiver that first answers 500.
 */
describe('webhook of an async job (API, Redis, gpu-node, worker, MinIO, receiver)', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let client: Redis;
  let api: ApiUnderTest;
  let media: TestMedia;
  let receiver: Server;
  let receiverUrl: string;
  const deliveries: Delivery[] = [];
  const failuresLeft = new Map<string, number>();

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const path = request.url ?? '/';
        deliveries.push({ path, headers: request.headers, body });
        const left = failuresLeft.get(path) ?? 0;
        failuresLeft.set(path, left - 1);
        response.statusCode = left > 0 ? 500 : 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    deployment = await startDeployment({
      name: 'webhooks-e2e',
      media: ['video.mp4', 'audio.mp3'],
      env: {
        PRIVATE_URL_ALLOWLIST: `${s3.hostPort},${new URL(receiverUrl).host}`,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_RETRY_DELAYS_MS: '500,500',
      },
      nodes: [NODE_ID],
    });
    ({ api, client, media } = deployment);
  });

  afterAll(async () => {
    await deployment?.stop();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  const addaudio = (webhookUrl: string) => ({
    url_video: media.urls['video.mp4'],
    url_audio: media.urls['audio.mp3'],
    path: `${media.prefix}out/`,
    output_filename: 'vídeo com áudio.mp4',
    webhook_url: webhookUrl,
  });

  it('delivers the final body, signed, retried after a 500, and GET /job/:id records it', async () => {
    failuresLeft.set('/hooks/flaky', 1);
    const accepted = await api.call('POST', '/video/addaudio', {
      body: addaudio(`${receiverUrl}/hooks/flaky`),
      headers: { Prefer: 'respond-async' },
    });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.jobId as string;

    const status = await waitFor(
      `webhook of ${jobId} settled`,
      async () => {
        const { body } = await api.call<JobStatusBody>('GET', `/job/${jobId}`);
        return body.webhook?.status === 'pending' ? undefined : body;
      },
      240_000,
    );
    expect(status.status).toBe('COMPLETED');
    expect(status.webhook).toEqual({ status: 'delivered', attempts: 2 });

    const received = deliveries.filter((delivery) => delivery.path === '/hooks/flaky');
    expect(received).toHaveLength(2);
    expect(received.every(signatureIsValid)).toBe(true);
    expect(received.every((delivery) => delivery.headers['content-type'] === 'application/json')).toBe(true);
    const body = JSON.parse(received[1].body) as Record<string, unknown>;
    expect(body).toEqual(status.output);
    expect(body).toMatchObject({ code: 200, jobId, status: 'COMPLETED', node: NODE_ID, filename: 'vídeo com áudio.mp4' });
    const probe = await downloadAndProbe(body.video_url as string);
    expect(probe.streams.map((stream) => stream.codec_type).sort()).toEqual(['audio', 'video']);
  });

  it('refuses at submission a webhook_url whose name resolves to loopback, and queues nothing', async () => {
    const unlistedPort = Number(new URL(receiverUrl).port) + 1;
    const jobsBefore = await client.keys(`${JOB_KEY_PREFIX}*`);
    const refused = await api.call('POST', '/video/addaudio', {
      body: addaudio(`http://localhost:${unlistedPort}/hooks/refused`),
      headers: { Prefer: 'respond-async' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error: 'Bad Request',
      field: 'webhook_url',
      message: expect.stringContaining('webhook_url host "localhost" resolves to a loopback address'),
    });
    expect(await client.keys(`${JOB_KEY_PREFIX}*`)).toEqual(jobsBefore);
    expect(await client.llen(`${BULL_PREFIX}:addaudio:wait`)).toBe(0);
  });
});
