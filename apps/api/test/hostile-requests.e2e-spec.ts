import type { S3Client } from '@aws-sdk/client-s3';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiUnderTest, GpuNodeUnderTest, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { OwnedProcess, REPO_ROOT, waitFor } from '../../../test/support/processes';
import { CONNECT_RECORDER, objectKeys } from './support/api-process';

const BUCKET = 'api-gpu-hostile';
const API_KEY = 'hostile-test-key-0123456789';
const WEBHOOK_SECRET = 'hostile-webhook-secret-0123456789';
const MAX_BODY_MB = 2;

interface HostileCase {
  name: string;
  method?: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Sent as is instead of `body`, for bodies JSON cannot express. */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  status: number;
}

type Json = Record<string, unknown>;

/**
 * Hostile requests against the API process, each with the status it must get, and after each the
 * proof that it had no effect: no job record and no Bull key appeared in Redis (a Redis of this
 * test's own), no object appeared in the bucket, and no connection to an address outside this
 * machine was even attempted: the API runs with a connect step that records such attempts and
 * fails them, so a broken URL guard still cannot send a packet off this machine. No GPU node runs,
 * so a job that slipped through would stay queued, where the check finds it.
 */
describe('hostile requests (API process, real Redis and MinIO)', () => {
  let deployment: Deployment;
  let redisClient: Redis;
  let s3: S3Client;
  let api: ApiUnderTest;
  let baseUrl: string;
  let minioHostPort: string;
  let recordDir: string;
  let recordFile: string;

  const storedKeys = async () =>
    [...(await redisClient.keys('bull:*')), ...(await redisClient.keys('api-gpu:job:*'))].sort();
  const offMachineAttempts = () => (existsSync(recordFile) ? readFileSync(recordFile, 'utf8') : '');
  const send = async (request: HostileCase): Promise<{ status: number; body: Json | null; text: string }> => {
    const hasBody = request.raw !== undefined || request.body !== undefined;
    const response = await fetch(`${baseUrl}${request.path}`, {
      method: request.method ?? 'POST',
      headers: {
        'x-api-key': API_KEY,
        ...(hasBody ? { 'content-type': request.contentType ?? 'application/json' } : {}),
        ...request.headers,
      },
      body: request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body)),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let body: Json | null = null;
    try {
      body = JSON.parse(text) as Json;
    } catch {
      body = null;
    }
    return { status: response.status, body, text };
  };

  beforeAll(async () => {
    recordDir = mkdtempSync(join(tmpdir(), 'api-gpu-hostile-'));
    recordFile = join(recordDir, 'connections.jsonl');
    deployment = await startDeployment({
      name: 'hostile',
      bucket: { name: BUCKET },
      api: {
        WEBHOOK_SECRET,
        MAX_BODY_MB: String(MAX_BODY_MB),
        RATE_LIMIT_MAX: '100000',
        SYNC_TIMEOUT_S: '1',
        CONNECT_RECORD_FILE: recordFile,
      },
      apiProcess: { keys: [API_KEY], nodeArgs: ['--import', CONNECT_RECORDER] },
    });
    ({ api, client: redisClient } = deployment);
    s3 = deployment.media.s3Client;
    minioHostPort = deployment.s3.hostPort;
    baseUrl = api.url;
  });

  afterAll(async () => {
    await deployment?.stop();
    if (recordDir) rmSync(recordDir, { recursive: true, force: true });
  });

  const media = (name: string) => `http://${minioHostPort}/${BUCKET}/inputs/${name}`;
  const caption = (overrides: Json): Json => ({
    url_video: media('video.mp4'),
    url_srt: media('legenda.srt'),
    path: 'hostile/',
    output_filename: 'saida.mp4',
    async: true,
    ...overrides,
  });
  const addaudio = (overrides: Json): Json => ({
    url_video: media('video.mp4'),
    url_audio: media('audio.mp3'),
    path: 'hostile/',
    output_filename: 'saida.mp4',
    async: true,
    ...overrides,
  });
  const image = (overrides: Json = {}): Json => ({ id: 'img', image_url: media('foto.jpg'), duracao: 2, ...overrides });
  const img2vid = (images: unknown): Json => ({ images, path: 'hostile/', async: true });
  const transcribe = (overrides: Json): Json => ({ audio_url: media('fala.mp3'), path: 'hostile/', async: true, ...overrides });

  const ssrfTargets: [string, string][] = [
    ['IPv4 loopback', 'http://127.0.0.1/v.mp4'],
    ['the Redis port on loopback', 'http://127.0.0.1:6379/'],
    ['another loopback address', 'http://127.0.0.2:8080/v.mp4'],
    ['localhost', 'http://localhost/v.mp4'],
    ['localhost on the MinIO port (allowlisted only as 127.0.0.1)', `http://localhost:${minioHostPortPort()}/v.mp4`],
    ['IPv6 loopback', 'http://[::1]/v.mp4'],
    ['IPv6 loopback, long form', 'http://[0:0:0:0:0:0:0:1]/v.mp4'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/v.mp4'],
    ['10/8', 'http://10.0.0.1/v.mp4'],
    ['10/8 upper end with port', 'http://10.255.255.254:8080/v.mp4'],
    ['172.16/12 lower end', 'http://172.16.0.1/v.mp4'],
    ['172.16/12 upper end', 'http://172.31.255.255/v.mp4'],
    ['192.168/16', 'http://192.168.0.1/v.mp4'],
    ['192.168/16 on the MinIO port', 'http://192.168.1.100:9000/v.mp4'],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv4-mapped IPv6 metadata address', 'http://[::ffff:a9fe:a9fe]/latest/meta-data/'],
    ['IPv6 link-local', 'http://[fe80::1]/v.mp4'],
    ['IPv6 unique local', 'http://[fd00::1]/v.mp4'],
    ['0.0.0.0', 'http://0.0.0.0/v.mp4'],
    ['0 (short for 0.0.0.0)', 'http://0/v.mp4'],
    ['decimal 127.0.0.1', 'http://2130706433/v.mp4'],
    ['hex 127.0.0.1', 'http://0x7f000001/v.mp4'],
    ['dotted hex 127.0.0.1', 'http://0x7f.0x0.0x0.0x1/v.mp4'],
    ['octal 127.0.0.1', 'http://0177.0.0.1/v.mp4'],
    ['short form 127.1', 'http://127.1/v.mp4'],
    ['decimal 10.0.0.1', 'http://167772161/v.mp4'],
    ['hex metadata address', 'http://0xa9fea9fe/latest/meta-data/'],
    ['carrier-grade NAT', 'http://100.64.0.1/v.mp4'],
    ['multicast', 'http://224.0.0.1/v.mp4'],
    ['broadcast', 'http://255.255.255.255/v.mp4'],
    ['a name that resolves to loopback (vm)', 'http://vm/v.mp4'],
    ['a name that resolves to loopback (runsc), on the MinIO port', `http://runsc:${minioHostPortPort()}/v.mp4`],
    ['credentials in the URL', 'http://user:pass@127.0.0.1/v.mp4'],
    ['file://', 'file:///etc/passwd'],
    ['gopher://', 'gopher://127.0.0.1:6379/_FLUSHALL'],
    ['ftp://', 'ftp://ftp.example.com/v.mp4'],
    ['dict://', 'dict://127.0.0.1:6379/INFO'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:video/mp4;base64,AAAA'],
  ];

  function minioHostPortPort(): string {
    return new URL(process.env.S3_ENDPOINT_URL ?? 'http://127.0.0.1:9000').port || '80';
  }

  const cases: HostileCase[] = [
    ...ssrfTargets.map(([name, url]) => ({
      name: `url_video: ${name}`,
      path: '/video/caption',
      body: caption({ url_video: url }),
      status: 400,
    })),
    { name: 'url_srt: 10/8', path: '/video/caption', body: caption({ url_srt: 'http://10.1.2.3/s.srt' }), status: 400 },
    { name: 'url_audio: 192.168/16', path: '/video/addaudio', body: addaudio({ url_audio: 'http://192.168.0.10/a.mp3' }), status: 400 },
    {
      name: 'image_url: 172.16/12 in the fourth image',
      path: '/video/img2vid',
      body: img2vid([image(), image({ id: 'b' }), image({ id: 'c' }), image({ id: 'd', image_url: 'http://172.16.5.4/i.jpg' })]),
      status: 400,
    },
    { name: 'audio_url: IPv6 loopback', path: '/transcribe', body: transcribe({ audio_url: 'http://[::1]/a.mp3' }), status: 400 },
    { name: 'webhook_url: metadata address', path: '/video/caption', body: caption({ webhook_url: 'http://169.254.169.254/hook' }), status: 400 },
    { name: 'webhook_url: Redis on loopback', path: '/video/caption', body: caption({ webhook_url: 'http://127.0.0.1:6379/' }), status: 400 },
    { name: 'webhook_url: 10/8', path: '/video/addaudio', body: addaudio({ webhook_url: 'https://10.0.0.7/hook' }), status: 400 },
    { name: 'webhook_url: file://', path: '/video/caption', body: caption({ webhook_url: 'file:///tmp/hook' }), status: 400 },
    { name: 'path: traversal', path: '/video/caption', body: caption({ path: '../../etc/' }), status: 400 },
    { name: 'path: traversal in the middle', path: '/video/caption', body: caption({ path: 'a/../../b/' }), status: 400 },
    { name: 'path: NUL', path: '/video/caption', body: caption({ path: 'a\u0000b/' }), status: 400 },
    { name: 'path: newline', path: '/video/caption', body: caption({ path: 'a\nb/' }), status: 400 },
    { name: 'path: backslash traversal', path: '/video/addaudio', body: addaudio({ path: '..\\..\\b\\' }), status: 400 },
    { name: 'output_filename: traversal', path: '/video/caption', body: caption({ output_filename: '../saida.mp4' }), status: 400 },
    { name: 'output_filename: slash', path: '/video/caption', body: caption({ output_filename: 'a/saida.mp4' }), status: 400 },
    { name: 'output_filename: NUL', path: '/video/caption', body: caption({ output_filename: 'saida.mp4\u0000.sh' }), status: 400 },
    { name: 'output_filename: CR LF', path: '/video/addaudio', body: addaudio({ output_filename: 'sai\r\nda.mp4' }), status: 400 },
    {
      name: 'style font name with filtergraph metacharacters',
      path: '/video/caption_style',
      body: caption({ style: { font: { name: "Arial':force_style='x',drawtext=text=pwn[out]" } } }),
      status: 400,
    },
    {
      name: 'output_filename with filtergraph metacharacters',
      path: '/video/caption',
      body: caption({ output_filename: "x';[0:v]drawtext=text=pwn;'.mp4" }),
      status: 400,
    },
    {
      name: '10,000 images',
      path: '/video/img2vid',
      body: img2vid(Array.from({ length: 10_000 }, (_, i) => image({ id: `img-${i}` }))),
      status: 400,
    },
    { name: 'duracao as a string', path: '/video/img2vid', body: img2vid([image({ duracao: '5' })]), status: 400 },
    { name: 'duracao negative', path: '/video/img2vid', body: img2vid([image({ duracao: -1 })]), status: 400 },
    { name: 'duracao "NaN"', path: '/video/img2vid', body: img2vid([image({ duracao: 'NaN' })]), status: 400 },
    {
      name: 'duracao NaN (not JSON)',
      path: '/video/img2vid',
      raw: `{"images":[{"id":"a","image_url":"${media('a.jpg')}","duracao":NaN}],"path":"hostile/","async":true}`,
      status: 400,
    },
    { name: 'duracao 1e9', path: '/video/img2vid', body: img2vid([image({ duracao: 1e9 })]), status: 400 },
    {
      name: 'duracao 1e999 (overflows to Infinity)',
      path: '/video/img2vid',
      raw: `{"images":[{"id":"a","image_url":"${media('a.jpg')}","duracao":1e999}],"path":"hostile/","async":true}`,
      status: 400,
    },
    { name: 'images not an array', path: '/video/img2vid', body: img2vid({ id: 'a' }), status: 400 },
    {
      name: `body over MAX_BODY_MB (${MAX_BODY_MB} MB)`,
      path: '/video/caption',
      raw: JSON.stringify(caption({ pad: 'x'.repeat(MAX_BODY_MB * 1024 * 1024 + 1) })),
      status: 413,
    },
    { name: 'malformed JSON', path: '/video/caption', raw: '{"url_video": ', status: 400 },
    { name: 'a JSON array', path: '/video/caption', raw: '[]', status: 400 },
    { name: 'JSON null', path: '/video/caption', raw: 'null', status: 400 },
    {
      name: 'JSON sent as text/plain',
      path: '/video/caption',
      raw: JSON.stringify(caption({})),
      contentType: 'text/plain',
      status: 400,
    },
    {
      name: 'a form instead of JSON',
      path: '/video/caption',
      raw: 'url_video=http%3A%2F%2F127.0.0.1%2F&path=x%2F',
      contentType: 'application/x-www-form-urlencoded',
      status: 400,
    },
    {
      name: 'JSON in a charset other than UTF-8',
      path: '/video/caption',
      raw: Buffer.from(JSON.stringify(caption({ output_filename: 'legendação.mp4' })), 'latin1'),
      contentType: 'application/json; charset=iso-8859-1',
      status: 415,
    },
    { name: 'no API key', path: '/video/caption', body: caption({}), headers: { 'x-api-key': '' }, status: 401 },
    { name: 'a wrong API key', path: '/video/caption', body: caption({}), headers: { 'x-api-key': 'not-the-key' }, status: 401 },
    {
      name: 'the key in the query string',
      path: `/video/caption?api_key=${API_KEY}&x-api-key=${API_KEY}`,
      body: caption({}),
      headers: { 'x-api-key': '' },
      status: 401,
    },
    {
      name: 'the key as a bearer token',
      path: '/transcribe',
      body: transcribe({}),
      headers: { 'x-api-key': '', authorization: `Bearer ${API_KEY}` },
      status: 401,
    },
    { name: 'unknown job id', method: 'GET', path: `/job/${randomUUID()}`, status: 404 },
    { name: 'unknown job id under /video', method: 'GET', path: `/video/job/${randomUUID()}/result`, status: 404 },
    { name: 'cancel of an unknown job', path: `/job/${randomUUID()}/cancel`, status: 404 },
    { name: 'a job id that is a traversal', method: 'GET', path: '/job/..%2F..%2Fetc%2Fpasswd', status: 404 },
    { name: 'an operation that does not exist', path: '/video/unknown', body: caption({}), status: 404 },
  ];

  it('has at least 50 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, request) => {
    const keysBefore = await storedKeys();
    const objectsBefore = await objectKeys(s3, BUCKET);
    const attemptsBefore = offMachineAttempts();

    const { status, body, text } = await send(request);

    expect({ status, body: text.slice(0, 300) }).toEqual({ status: request.status, body: expect.any(String) });
    expect(body).toEqual(expect.objectContaining({ error: expect.any(String), message: expect.any(String) }));
    expect(await storedKeys()).toEqual(keysBefore);
    expect(await objectKeys(s3, BUCKET)).toEqual(objectsBefore);
    expect(offMachineAttempts()).toBe(attemptsBefore);
  });

  it('cancelling twice: the second cancel is a 409 that says the job already ended, and queues nothing', async () => {
    const submitted = await send({ name: 'valid', path: '/video/caption', body: caption({}), status: 202 });
    expect(submitted.status).toBe(202);
    const jobId = String(submitted.body?.jobId);
    const first = await send({ name: 'cancel', path: `/job/${jobId}/cancel`, status: 200 });
    expect(first).toMatchObject({ status: 200, body: { message: 'Job cancelled successfully', jobId } });
    const keysBefore = await storedKeys();
    const second = await send({ name: 'cancel again', path: `/job/${jobId}/cancel`, status: 409 });
    expect(second.status).toBe(409);
    expect(second.body).toEqual(expect.objectContaining({ error: 'Conflict', message: expect.stringMatching(/already/i) }));
    expect(await storedKeys()).toEqual(keysBefore);
    expect(await redisClient.llen('bull:caption:wait')).toBe(0);
  });

  it('the checks see a job that is accepted: a valid request leaves a record and a queued Bull job', async () => {
    const keysBefore = await storedKeys();
    const accepted = await send({ name: 'valid', path: '/video/addaudio', body: addaudio({}), status: 202 });
    expect(accepted.status).toBe(202);
    const added = (await storedKeys()).filter((key) => !keysBefore.includes(key));
    expect(added).toEqual(expect.arrayContaining([`api-gpu:job:${String(accepted.body?.jobId)}`]));
    expect(await redisClient.llen('bull:addaudio:wait')).toBe(1);
  });

  it('the connect recorder sees a connection attempt to an address outside this machine', async () => {
    const probe = new OwnedProcess(
      'node',
      ['--import', CONNECT_RECORDER, '-e', "fetch('http://10.20.30.40:81/').catch(() => process.exit(0))"],
      { CONNECT_RECORD_FILE: recordFile },
    ).start();
    expect(await probe.exitCode()).toBe(0);
    expect(offMachineAttempts()).toContain('"host":"10.20.30.40"');
  });
});

/**
 * What only a fetch can show: a URL the API must accept (an allowlisted server) that redirects to
 * an address the guard refuses. A GPU node runs the jobs; its Python workers run with a connect
 * step that records and refuses any connection off this machine, as the API's does. Each job must
 * fail on its input (400 naming the field), the redirect target must never be reached, and
 * nothing may be written to MinIO.
 */
describe('hostile redirects (API and GPU node processes, real worker, Redis and MinIO)', () => {
  let deployment: Deployment;
  let s3: S3Client;
  let node: GpuNodeUnderTest;
  let baseUrl: string;
  let redirector: Server;
  let target: Server;
  let targetPort: number;
  let redirectorHost: string;
  let recordDir: string;
  let recordFile: string;
  const targetHits: string[] = [];
  const redirectorHits: string[] = [];
  const locations: Record<string, string> = {};

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };

  beforeAll(async () => {
    recordDir = mkdtempSync(join(tmpdir(), 'api-gpu-redirects-'));
    recordFile = join(recordDir, 'connections.jsonl');
    target = createServer((request, response) => {
      targetHits.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'video/mp4' }).end('not a video');
    });
    targetPort = await listen(target);
    redirector = createServer((request, response) => {
      redirectorHits.push(request.url ?? '');
      const location = locations[(request.url ?? '').slice(1)];
      response.writeHead(location ? 302 : 404, location ? { location } : {}).end();
    });
    redirectorHost = `127.0.0.1:${await listen(redirector)}`;
    deployment = await startDeployment({
      name: 'hostile-redirects',
      bucket: { name: BUCKET },
      env: {
        PRIVATE_URL_ALLOWLIST: `${testS3().hostPort},${redirectorHost}`,
        RATE_LIMIT_MAX: '100000',
        SYNC_TIMEOUT_S: '120',
        CONNECT_RECORD_FILE: recordFile,
      },
      apiProcess: { keys: [API_KEY], nodeArgs: ['--import', CONNECT_RECORDER] },
      nodes: [{ id: 'hostile-redirects-node', env: { PYTHONPATH: join(REPO_ROOT, 'apps/api/test/support/python-connect-recorder') } }],
    });
    s3 = deployment.media.s3Client;
    node = deployment.node;
    baseUrl = deployment.api.url;
    await waitFor(
      'the GPU node ready',
      async () => {
        if (!node.running) throw new Error(`node exited: ${node.output}`);
        const health = (await (await fetch(`${baseUrl}/health`)).json()) as { nodes?: { nodeId: string; freeSlots?: number }[] };
        return health.nodes?.some((n) => n.nodeId === 'hostile-redirects-node' && n.freeSlots === 1) || undefined;
      },
      240_000,
    );
  }, 300_000);

  afterAll(async () => {
    await deployment?.stop();
    redirector?.close();
    target?.close();
    if (recordDir) rmSync(recordDir, { recursive: true, force: true });
  });

  const redirects = (): [string, string][] => [
    ['loopback, another port', `http://127.0.0.1:${targetPort}/v.mp4`],
    ['localhost', `http://localhost:${targetPort}/v.mp4`],
    ['decimal loopback', `http://2130706433:${targetPort}/v.mp4`],
    ['IPv4-mapped IPv6 loopback', `http://[::ffff:127.0.0.1]:${targetPort}/v.mp4`],
    ['10/8', 'http://10.0.0.1/v.mp4'],
    ['192.168/16', 'http://192.168.1.1:8080/v.mp4'],
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['file://', 'file:///etc/passwd'],
    ['gopher://', `gopher://127.0.0.1:${targetPort}/_x`],
    ['a second hop to loopback', `http://${'REDIRECTOR'}/hop-to-loopback`],
  ];

  it.each(redirects().map(([name], index) => [name, index] as const))(
    'a redirect to %s fails the job on its input, reaches nothing and writes nothing',
    async (_name, index) => {
      const [, location] = redirects()[index];
      const name = `case-${index}`;
      locations[name] = location.replace('REDIRECTOR', redirectorHost);
      locations['hop-to-loopback'] = `http://127.0.0.1:${targetPort}/second-hop.mp4`;
      const objectsBefore = await objectKeys(s3, BUCKET);
      const response = await fetch(`${baseUrl}/video/caption`, {
        method: 'POST',
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({
          url_video: `http://${redirectorHost}/${name}`,
          url_srt: `http://${redirectorHost}/${name}`,
          path: `hostile-redirects/${name}/`,
          output_filename: 'nunca.mp4',
        }),
      });
      const body = (await response.json()) as { error?: string; message?: string };
      expect({ status: response.status, error: body.error }).toEqual({ status: 400, error: 'Bad Request' });
      expect(body.message).toMatch(/url_video|url_srt/);
      // The worker did fetch: the job failed at the redirect, not before.
      expect(redirectorHits).toContain(`/${name}`);
      expect(targetHits).toEqual([]);
      expect(existsSync(recordFile) ? readFileSync(recordFile, 'utf8') : '').toBe('');
      expect(await objectKeys(s3, BUCKET)).toEqual(objectsBefore);
    },
  );
});
