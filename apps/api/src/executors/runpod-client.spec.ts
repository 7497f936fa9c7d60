import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { RunPodCallError, RunPodClient } from './runpod-client';
import type { RunPodSettings } from './runpod-settings';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

/** A real HTTP server answering from a script of replies, recording what it was sent. */
async function serverAnswering(replies: ((res: ServerResponse) => void)[]): Promise<{ server: Server; base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      const reply = replies.shift();
      if (reply) reply(res);
      else res.writeHead(500).end('no scripted reply');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (res: ServerResponse) =>
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));

function settings(apiBase: string, httpTimeoutMs = 2000): RunPodSettings {
  return {
    apiKey: 'rpa_unit_key',
    apiBase,
    endpointId: 'ep',
    whisperEndpointId: 'ep',
    whisperWorker: 'project',
    executionTimeoutS: 600,
    maxWaitS: 3600,
    idleTimeoutS: null,
    httpTimeoutMs,
  };
}

describe('RunPodClient', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('POSTs /run with the input, policy and Bearer key', async () => {
    const fake = await serverAnswering([json(200, { id: 'abc-u1', status: 'IN_QUEUE' })]);
    server = fake.server;
    const answer = await new RunPodClient(settings(fake.base)).run('ep', { operation: 'caption' }, { executionTimeoutMs: 600_000, ttlMs: 3_600_000 });
    expect(answer).toEqual({ id: 'abc-u1', status: 'IN_QUEUE' });
    expect(fake.seen).toEqual([
      {
        method: 'POST',
        url: '/v2/ep/run',
        authorization: 'Bearer rpa_unit_key',
        body: JSON.stringify({ input: { operation: 'caption' }, policy: { executionTimeout: 600_000, ttl: 3_600_000 } }),
      },
    ]);
  });

  it('retries 429 and 5xx with jittered, growing waits, honouring Retry-After', async () => {
    const fake = await serverAnswering([
      json(429, { error: 'slow down' }, { 'Retry-After': '3' }),
      json(502, { error: 'bad gateway' }),
      json(503, { error: 'unavailable' }),
      json(200, { id: 'abc-u1', status: 'IN_PROGRESS' }),
    ]);
    server = fake.server;
    const waits: number[] = [];
    const client = new RunPodClient(settings(fake.base), (ms) => {
      waits.push(ms);
      return Promise.resolve();
    });
    expect((await client.status('ep', 'abc-u1')).status).toBe('IN_PROGRESS');
    expect(fake.seen.map((call) => call.url)).toEqual(Array(4).fill('/v2/ep/status/abc-u1'));
    expect(waits).toHaveLength(3);
    expect(waits[0]).toBe(3000);
    expect(waits[1]).toBeLessThanOrEqual(1000);
    expect(waits[2]).toBeLessThanOrEqual(2000);
  });

  it('gives up after the last attempt with the status, and never retries a 401', async () => {
    const failing = await serverAnswering(Array(4).fill(json(500, { error: 'down' })));
    server = failing.server;
    const client = new RunPodClient(settings(failing.base), () => Promise.resolve());
    await expect(client.health('ep')).rejects.toMatchObject({ status: 500, transient: true });
    expect(failing.seen).toHaveLength(4);
    failing.server.close();

    const refusing = await serverAnswering([json(401, { error: 'Unauthorized' })]);
    server = refusing.server;
    const error = await new RunPodClient(settings(refusing.base), () => Promise.resolve()).cancel('ep', 'abc-u1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunPodCallError);
    expect((error as RunPodCallError).status).toBe(401);
    expect((error as RunPodCallError).message).not.toContain('rpa_unit_key');
    expect(refusing.seen).toHaveLength(1);
  });

  it('gives each call a deadline', async () => {
    const silent = await serverAnswering(Array(4).fill(() => undefined));
    server = silent.server;
    const client = new RunPodClient(settings(silent.base, 200), () => Promise.resolve());
    await expect(client.status('ep', 'abc-u1')).rejects.toThrow('no answer within 200 ms');
    expect(silent.seen).toHaveLength(4);
    server.closeAllConnections();
  });
});
