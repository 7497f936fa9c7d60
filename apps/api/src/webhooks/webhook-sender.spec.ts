import { createHmac, timingSafeEqual } from 'node:crypto';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookDeliveryError, WebhookSender } from './webhook-sender';
import { WebhookSettings } from './webhook-settings';

const SECRET = 'sender-test-secret-0123456789';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** What a receiver does to check a delivery, written from the documented scheme, not from our code. */
function signatureIsValid(received: Received, secret: string): boolean {
  const timestamp = String(received.headers['x-webhook-timestamp']);
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${received.body}`).digest('hex')}`;
  const actual = String(received.headers['x-signature']);
  return actual.length === expected.length && timingSafeEqual(Buffer.from(actual), Buffer.from(expected));
}

describe('WebhookSender', () => {
  let receiver: Server;
  let port: number;
  let received: Received[] = [];
  let nextStatus = 200;
  let redirectTo = '';

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ headers: request.headers, body });
        if (redirectTo) response.setHeader('Location', redirectTo);
        response.statusCode = nextStatus;
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  beforeEach(() => {
    received = [];
    nextStatus = 200;
    redirectTo = '';
  });

  const senderWith = (overrides: Partial<WebhookSettings> = {}) =>
    new WebhookSender({
      secret: SECRET,
      retryDelaysMs: [10],
      timeoutMs: 2000,
      allowlist: [`127.0.0.1:${port}`],
      ...overrides,
    });

  const failureOf = async (promise: Promise<void>): Promise<WebhookDeliveryError> => {
    try {
      await promise;
    } catch (error) {
      return error as WebhookDeliveryError;
    }
    throw new Error('the delivery succeeded');
  };

  it('POSTs the JSON body with a timestamp and a signature the receiver can verify', async () => {
    const body = { code: 200, message: 'Legenda aplicada: vídeo pronto', video_url: 'http://x/ação.mp4' };
    const before = Math.floor(Date.now() / 1000);
    await senderWith().send(`http://127.0.0.1:${port}/hooks/api-gpu?tenant=7`, body);

    expect(received).toHaveLength(1);
    const [delivery] = received;
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(JSON.parse(delivery.body)).toEqual(body);
    const timestamp = Number(delivery.headers['x-webhook-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(delivery.headers['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signatureIsValid(delivery, SECRET)).toBe(true);
    expect(signatureIsValid(delivery, 'another-secret-0123456789')).toBe(false);
    expect(signatureIsValid({ ...delivery, body: delivery.body.replace('200', '201') }, SECRET)).toBe(false);
  });

  it.each([500, 404, 429])('reports a %i answer as a retryable failure', async (status) => {
    nextStatus = status;
    const error = await failureOf(senderWith().send(`http://127.0.0.1:${port}/`, {}));
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(`the receiver answered ${status}`);
  });

  it('does not follow a redirect', async () => {
    nextStatus = 302;
    redirectTo = `http://127.0.0.1:${port}/elsewhere`;
    const error = await failureOf(senderWith().send(`http://127.0.0.1:${port}/`, {}));
    expect(error.message).toContain('redirects are not followed');
    expect(received).toHaveLength(1);
  });

  it('reports a receiver that is not listening as a retryable connection failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failureOf(
      senderWith({ allowlist: [`127.0.0.1:${closedPort}`] }).send(`http://127.0.0.1:${closedPort}/`, {}),
    );
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('connection failed (ECONNREFUSED)');
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      const error = await failureOf(
        senderWith({ allowlist: [`127.0.0.1:${silentPort}`], timeoutMs: 200 }).send(`http://127.0.0.1:${silentPort}/`, {}),
      );
      expect(error.retryable).toBe(true);
      expect(error.message).toBe('no answer within 200 ms');
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it.each([
    ['http://10.0.0.1/hook', 'webhook_url must not point to a private address (10.0.0.1)'],
    ['http://169.254.169.254/latest/meta-data/', 'webhook_url must not point to a link-local address'],
    ['http://[::1]:9/hook', 'webhook_url must not point to a loopback address'],
  ])('refuses %s for good, before any connection', async (url, message) => {
    const error = await failureOf(senderWith().send(url, {}));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(message);
  });

  it('refuses a name that resolves to loopback unless its address is allowlisted', async () => {
    const error = await failureOf(senderWith({ allowlist: [] }).send(`http://localhost:${port}/hook?token=s3cr3t`, {}));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('webhook_url host "localhost" resolves to a loopback address');
    expect(error.message).not.toContain('s3cr3t');
    expect(received).toHaveLength(0);

    await senderWith().send(`http://localhost:${port}/hook`, { ok: true });
    expect(received).toHaveLength(1);
  });

  it('refuses an s3 URL, which a webhook cannot be', async () => {
    const error = await failureOf(senderWith().send('s3://bucket/key', {}));
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('webhook_url must be an http or https URL');
  });

  it('fails without WEBHOOK_SECRET rather than send an unsigned webhook', async () => {
    const error = await failureOf(senderWith({ secret: undefined }).send(`http://127.0.0.1:${port}/`, {}));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('WEBHOOK_SECRET');
    expect(received).toHaveLength(0);
  });
});
