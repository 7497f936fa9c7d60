import {
  BULL_PREFIX,
  JobRecord,
  JobStatus,
  JobStore,
  RedisModule,
  WEBHOOK_QUEUE,
  webhookJobOptions,
} from '@app/common';
import { ConfigModule } from '@nestjs/config';
import { Test, TestingModule } from '@nestjs/testing';
import Queue from 'bull';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { waitFor } from '../../../test/support/processes';
import { bullRootModule } from '../src/jobs/job-queues';
import { finalResponse } from '../src/jobs/job-responses';
import { WebhooksModule } from '../src/webhooks/webhooks.module';

const SECRET = 'webhooks-e2e-secret-0123456789';

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The receiver's side of the documented scheme, written from the documentation. */
function signatureIsValid(delivery: Delivery): boolean {
  const timestamp = String(delivery.headers['x-webhook-timestamp']);
  const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${delivery.body}`).digest('hex')}`;
  const actual = String(delivery.headers['x-signature']);
  return actual.length === expected.length && timingSafeEqual(Buffer.from(actual), Buffer.from(expected));
}

/**
 * The webhook consumer in a Nest application of its own against a real Redis, fed the way a GPU
 * node feeds it (a `{ jobId }` entry with the node's options on WEBHOOK_QUEUE), delivering over real
 * HTTP to a local receiver that answers what each test scripts.
 */
describe('webhook delivery (Bull on real Redis, real HTTP receiver)', () => {
  let deployment: Deployment;
  let store: JobStore;
  let producer: Queue.Queue;
  let app: TestingModule;
  let receiver: Server;
  let receiverUrl: string;
  const deliveries: Delivery[] = [];
  /** Statuses each path answers in turn; the last one repeats. */
  const script = new Map<string, number[]>();

  beforeAll(async () => {
    // The webhook module runs in this process: the deployment gives it a Redis, not an API process.
    deployment = await startDeployment({ name: 'webhooks', api: false });
    ({ store } = deployment);
    const redisUrl = deployment.redis.url;

    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const path = request.url ?? '/';
        deliveries.push({ path, headers: request.headers, body });
        const statuses = script.get(path) ?? [200];
        const status = statuses.length > 1 ? (statuses.shift() as number) : statuses[0];
        if (status >= 300 && status < 400) response.setHeader('Location', `${receiverUrl}/redirected`);
        response.statusCode = status;
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    receiverUrl = `http://127.0.0.1:${port}`;

    const env = {
      REDIS_URL: redisUrl,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_RETRY_DELAYS_MS: '300,300',
      WEBHOOK_TIMEOUT_MS: '2000',
      PRIVATE_URL_ALLOWLIST: `127.0.0.1:${port}`,
    };
    app = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, load: [() => env] }),
        RedisModule,
        bullRootModule(),
        WebhooksModule,
      ],
    }).compile();
    app.enableShutdownHooks();
    await app.init();
    producer = new Queue(WEBHOOK_QUEUE, redisUrl, { prefix: BULL_PREFIX });
  });

  afterAll(async () => {
    await app?.close();
    await producer?.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await deployment?.stop();
  });

  /** An ended addaudio job that asked for a webhook at `path`, queued for delivery as a node does. */
  async function endedJobWithWebhook(webhookUrl: string): Promise<JobRecord> {
    const id = randomUUID();
    const now = Date.now();
    const record: JobRecord = {
      id,
      operation: 'addaudio',
      status: JobStatus.Completed,
      input: { url_video: 'http://127.0.0.1:9/v.mp4', url_audio: 'http://127.0.0.1:9/a.mp3' },
      executor: 'local',
      node: 'webhook-test-node',
      progress: 100,
      createdAt: new Date(now - 3000).toISOString(),
      startedAt: new Date(now - 2500).toISOString(),
      endedAt: new Date(now).toISOString(),
      output: { video_url: `http://127.0.0.1:9/api-gpu-test/${id}/vídeo com áudio.mp4` },
      webhookUrl,
    };
    await store.create(record);
    await producer.add({ jobId: id }, webhookJobOptions(id));
    return record;
  }

  const settled = (jobId: string) =>
    waitFor(`webhook outcome of ${jobId}`, async () => (await store.get(jobId))?.webhook);

  const deliveriesTo = (path: string) => deliveries.filter((delivery) => delivery.path === path);

  it('POSTs the final response body, signed, and records the delivery', async () => {
    const record = await endedJobWithWebhook(`${receiverUrl}/hooks/once?tenant=ação`);

    expect(await settled(record.id)).toEqual({ status: 'delivered', attempts: 1 });
    const [delivery] = deliveriesTo('/hooks/once?tenant=a%C3%A7%C3%A3o');
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(signatureIsValid(delivery)).toBe(true);
    const body = JSON.parse(delivery.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      code: 200,
      message: 'Video addaudio completed and uploaded to S3 successfully',
      video_url: record.output?.video_url,
      jobId: record.id,
      status: 'COMPLETED',
    });
    expect(body).toEqual(finalResponse(record).body);
  });

  it('retries after the receiver answers 500, then records the delivery', async () => {
    script.set('/hooks/flaky', [500, 200]);
    const record = await endedJobWithWebhook(`${receiverUrl}/hooks/flaky`);

    expect(await settled(record.id)).toEqual({ status: 'delivered', attempts: 2 });
    const attempts = deliveriesTo('/hooks/flaky');
    expect(attempts).toHaveLength(2);
    expect(attempts.every(signatureIsValid)).toBe(true);
    expect(attempts[1].body).toBe(attempts[0].body);
  });

  it('gives up after the last retry and records why', async () => {
    script.set('/hooks/down', [503]);
    const record = await endedJobWithWebhook(`${receiverUrl}/hooks/down`);

    expect(await settled(record.id)).toEqual({
      status: 'failed',
      attempts: 3,
      lastError: 'the receiver answered 503',
    });
    expect(deliveriesTo('/hooks/down')).toHaveLength(3);
  });

  it('does not follow a redirect', async () => {
    script.set('/hooks/moved', [302]);
    const record = await endedJobWithWebhook(`${receiverUrl}/hooks/moved`);

    const outcome = await settled(record.id);
    expect(outcome).toMatchObject({ status: 'failed', attempts: 3 });
    expect(outcome.lastError).toContain('redirects are not followed');
    expect(deliveriesTo('/redirected')).toHaveLength(0);
  });

  it.each([
    ['http://10.0.0.1:9/hook', 'webhook_url must not point to a private address (10.0.0.1)'],
    ['http://169.254.169.254/latest/meta-data/', 'webhook_url must not point to a link-local address'],
  ])('refuses %s at once, without retrying', async (url, message) => {
    const record = await endedJobWithWebhook(url);

    const outcome = await settled(record.id);
    expect(outcome).toMatchObject({ status: 'failed', attempts: 1 });
    expect(outcome.lastError).toContain(message);
  });

  it('refuses a name resolving to loopback that the allowlist does not cover', async () => {
    const port = new URL(receiverUrl).port;
    const record = await endedJobWithWebhook(`http://localhost:${Number(port) + 1}/hooks/local`);

    const outcome = await settled(record.id);
    expect(outcome).toMatchObject({ status: 'failed', attempts: 1 });
    expect(outcome.lastError).toContain('webhook_url host "localhost" resolves to a loopback address');
    expect(deliveriesTo('/hooks/local')).toHaveLength(0);
  });

  it('delivers a job only once, however often it is queued', async () => {
    const record = await endedJobWithWebhook(`${receiverUrl}/hooks/twice`);
    await settled(record.id);
    const again = await producer.add(
      { jobId: record.id },
      { ...webhookJobOptions(record.id), jobId: `${record.id}-again`, removeOnComplete: false },
    );
    await again.finished();

    expect(deliveriesTo('/hooks/twice')).toHaveLength(1);
  });
});
