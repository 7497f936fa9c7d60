import { BULL_PREFIX, JOB_QUEUES, JobStore } from '@app/common';
import type Redis from 'ioredis';
import { createHmac } from 'node:crypto';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TestRedis, waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UNAUTHORIZED = { error: 'Unauthorized', message: 'Invalid or missing API key' };
const WEBHOOK_SECRET = 'jobs-api-e2e-webhook-secret';

/**
 * The API process against its own real Redis and the test MinIO, with no GPU node: everything the
 * API decides by itself (auth, validation, limits, queueing, status, cancel of a queued job, Redis
 * outages). Jobs that need a node to run are in jobs-node.e2e-spec.ts.
 */
describe('job routes without a GPU node (API process, real Redis)', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let redis: TestRedis;
  let client: Redis;
  let store: JobStore;
  let api: ApiUnderTest;
  let media: TestMedia;
  let caption: Record<string, unknown>;
  let img2vid: Record<string, unknown>;
  let addaudio: Record<string, unknown>;
  let transcribe: Record<string, unknown>;
  let receiver: Server;
  let receiverUrl: string;
  const deliveries: { headers: IncomingHttpHeaders; body: string }[] = [];

  const queued = async () => {
    let total = 0;
    for (const queue of Object.values(JOB_QUEUES)) {
      total += await client.llen(`${BULL_PREFIX}:${queue}:wait`);
    }
    return total;
  };

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        deliveries.push({ headers: request.headers, body });
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    deployment = await startDeployment({
      name: 'e2e-jobs-api',
      persistentRedis: true,
      media: ['video.mp4', 'audio.mp3'],
      api: {
        // MinIO is not allowlisted: URLs under S3_PUBLIC_URL are objects of the bucket, allowed as such.
        PRIVATE_URL_ALLOWLIST: new URL(receiverUrl).host,
        SYNC_TIMEOUT_S: '1',
        MAX_BODY_MB: '1',
        MAX_IMAGES: '3',
        MAX_DURACAO_S: '30',
        WEBHOOK_SECRET,
        JOB_RETENTION_HOURS: '2',
      },
    });
    ({ api, media, redis, client, store } = deployment);
    const video = media.urls['video.mp4'];
    caption = { url_video: video, url_srt: `${media.publicUrl(media.prefix)}s.srt`, path: `${media.prefix}out/`, output_filename: 'legendado.mp4' };
    img2vid = { images: [{ id: 'img-1', image_url: `${media.publicUrl(media.prefix)}i.jpg`, duracao: 2 }], path: `${media.prefix}out/` };
    addaudio = { url_video: video, url_audio: media.urls['audio.mp3'], path: `${media.prefix}out/`, output_filename: 'com_audio.mp4' };
    transcribe = { audio_url: media.urls['audio.mp3'], path: `${media.prefix}transcricao/` };
  });

  afterAll(async () => {
    await deployment?.stop();
    receiver?.close();
  });

  describe('authentication', () => {
    const protectedRoutes: [string, string, unknown?][] = [
      ['POST', '/video/caption', {}],
      ['POST', '/video/caption/async', {}],
      ['POST', '/video/img2vid', {}],
      ['POST', '/transcribe', {}],
      ['GET', '/job/00000000-0000-4000-8000-000000000000'],
      ['POST', '/job/00000000-0000-4000-8000-000000000000/cancel'],
      ['GET', '/video/job/00000000-0000-4000-8000-000000000000/result'],
      ['GET', '/runpod/health'],
      ['GET', '/runpod/config'],
    ];

    it.each(protectedRoutes)('%s %s: 401 without a key, with a wrong key, and with the key in the query string', async (method, path) => {
      const valid = method === 'POST' && path.startsWith('/video/caption') ? caption : undefined;
      const noKey = await api.call(method, path, { key: null, body: valid });
      const wrongKey = await api.call(method, path, { key: `${api.key}x`, body: valid });
      const inQuery = await api.call(method, `${path}?api_key=${api.key}&x-api-key=${api.key}&X-API-Key=${api.key}`, {
        key: null,
        body: valid,
      });
      for (const answer of [noKey, wrongKey, inQuery]) {
        expect([answer.status, answer.body]).toEqual([401, UNAUTHORIZED]);
      }
      expect(await queued()).toBe(0);
    });

    it('accepts every key of the comma-separated X_API_KEY', async () => {
      for (const key of ['other-key-for-rotation', api.key]) {
        expect((await api.call('GET', '/runpod/config', { key })).status).toBe(200);
      }
    });

    it.each([['/'], ['/health'], ['/health/ready'], ['/transcribe/health'], ['/docs'], ['/docs-json'], ['/metrics']])(
      'GET %s needs no key',
      async (path) => {
        const answer = await api.call('GET', path, { key: null });
        expect(answer.status).not.toBe(401);
        expect(answer.status).not.toBe(404);
      },
    );
  });

  describe('validation', () => {
    it.each([
      ['caption', '/video/caption', { ...caption, url_srt: undefined }, 'Bad Request', 'url_video, url_srt, path, and output_filename are required'],
      ['caption', '/video/caption', { ...caption, path: '' }, 'Bad Request', 'url_video, url_srt, path, and output_filename are required'],
      ['caption_style', '/video/caption_style', { ...caption, output_filename: undefined }, 'Bad Request', 'url_video, url_srt, path, and output_filename are required'],
      ['addaudio', '/video/addaudio', { ...addaudio, url_audio: undefined }, 'Bad Request', 'url_video, url_audio, path, and output_filename are required'],
      ['img2vid', '/video/img2vid', { path: 'p/' }, 'Bad Request', 'images array is required with at least one image'],
      ['img2vid', '/video/img2vid', { images: [], path: 'p/' }, 'Bad Request', 'images array is required with at least one image'],
      ['img2vid', '/video/img2vid', { images: [{ id: 'a', image_url: 'https://example.com/a.jpg' }], path: 'p/' }, 'Bad Request', 'Each image must have id, image_url, and duracao'],
      ['img2vid', '/video/img2vid', { images: [{ id: 'a', image_url: 'https://example.com/a.jpg', duracao: 1 }] }, 'Bad Request', 'path is required for S3 upload'],
      ['transcribe', '/transcribe', { path: 't/' }, 'Missing required parameter', 'audio_url is required'],
      ['transcribe', '/transcribe', { audio_url: 'https://example.com/a.mp3' }, 'Missing required parameter', 'path is required for S3 upload'],
    ])('%s missing a required field: the replaced service\'s exact answer', async (_name, path, body, error, message) => {
      const answer = await api.call('POST', path, { body });
      expect([answer.status, answer.body]).toEqual([400, { error, message }]);
      expect(await queued()).toBe(0);
    });

    it.each([
      ['/video/caption', () => ({ ...caption, url_video: 'ftp://example.com/v.mp4' }), 'url_video must be an http://, https:// or s3:// URL'],
      ['/video/caption', () => ({ ...caption, url_srt: 'https://user:pw@example.com/s.srt' }), 'url_srt must be an http://'],
      ['/video/caption', () => ({ ...caption, output_filename: '../escape.mp4' }), 'output_filename must be a file name'],
      ['/video/caption', () => ({ ...caption, output_filename: 'video.avi' }), 'output_filename must be a file name'],
      ['/video/caption', () => ({ ...caption, path: '/absolute/' }), 'path must not start with "/"'],
      ['/video/caption', () => ({ ...caption, path: 'a/../b/' }), 'path must not start with "/" nor contain ".."'],
      ['/video/caption', () => ({ ...caption, url_video: 42 }), 'url_video must be a string'],
      ['/video/caption_style', () => ({ ...caption, style: { font: { size: 200 } } }), 'style.font.size must not be greater than 100'],
      ['/video/caption_style', () => ({ ...caption, style: { font: { name: "Arial'],drawtext=text=x" } } }), 'style.font.name may only contain'],
      ['/video/caption_style', () => ({ ...caption, style: { colors: { primary: 'red' } } }), 'style.colors.primary must be a colour written #RRGGBB'],
      ['/video/caption_style', () => ({ ...caption, style: { border: { style: 2 } } }), 'style.border.style'],
      ['/video/caption_style', () => ({ ...caption, style: { position: { alignment: 10 } } }), 'style.position.alignment must not be greater than 9'],
      ['/video/caption_style', () => ({ ...caption, style: 'bold' }), 'style must be an object'],
      ['/video/img2vid', () => ({ ...img2vid, images: [{ id: 'a', image_url: 'https://example.com/a.jpg', duracao: -1 }] }), 'images[0].duracao must be a positive number'],
      ['/video/img2vid', () => ({ ...img2vid, images: [{ id: 'a', image_url: 'https://example.com/a.jpg', duracao: 31 }] }), 'images[0].duracao must not be greater than 30'],
      ['/video/img2vid', () => ({ ...img2vid, images: [{ id: 'a', image_url: 'https://example.com/a.jpg', duracao: 'two' }] }), 'images[0].duracao must be a number'],
      ['/video/img2vid', () => ({ ...img2vid, images: [1, 2, 3, 4].map((n) => ({ id: `i${n}`, image_url: 'https://example.com/a.jpg', duracao: 1 })) }), 'images must contain no more than 3 elements'],
      ['/video/img2vid', () => ({ ...img2vid, images: [{ id: 'a', image_url: 'https://example.com/a.jpg', duracao: 1, zoom_type: 'spin' }] }), 'images[0].zoom_type must be one of'],
      ['/video/img2vid', () => ({ ...img2vid, images: [{ id: 'a\u0000b', image_url: 'https://example.com/a.jpg', duracao: 1 }] }), 'images[0].id must not contain control characters'],
      ['/video/addaudio', () => ({ ...addaudio, url_audio: 'http://10.1.2.3/a.mp3' }), 'url_audio must not point to a private address'],
      ['/video/addaudio', () => ({ ...addaudio, url_video: 'http://169.254.169.254/latest/meta-data' }), 'url_video must not point to a link-local address'],
      ['/video/addaudio', () => ({ ...addaudio, url_video: 'http://localhost:9/v.mp4' }), 'url_video host "localhost" resolves to a loopback address'],
      ['/video/addaudio', () => ({ ...addaudio, url_audio: `${s3.endpoint}/other-bucket/a.mp3` }), 'url_audio must not point to a loopback address'],
      ['/transcribe', () => ({ ...transcribe, beam_size: 11 }), 'beam_size must not be greater than 10'],
      ['/transcribe', () => ({ ...transcribe, language: 'xx' }), 'language must be one of the following values'],
      ['/transcribe', () => ({ ...transcribe, language: 'português' }), 'language must be one of the following values'],
      ['/transcribe', () => ({ ...transcribe, temperature: 2 }), 'temperature must not be greater than 1'],
      ['/transcribe', () => ({ ...transcribe, enable_vad: 'yes' }), 'enable_vad must be a boolean value'],
      ['/transcribe', () => ({ ...transcribe, model: '../etc' }), 'model must be a model name'],
      ['/transcribe', () => ({ ...transcribe, async: 'yes' }), 'async must be a boolean value'],
      ['/transcribe', () => ({ ...transcribe, webhook_url: 'ftp://example.com/hook' }), 'webhook_url must be an http:// or https:// URL'],
      ['/transcribe', () => ({ ...transcribe, webhook_url: 'http://127.0.0.1:1/hook' }), 'webhook_url must not point to a loopback address'],
    ])('%s: 400 naming the field (%#)', async (path, body, message) => {
      const answer = await api.call<{ error: string; message: string }>('POST', path, { body: body() });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('Bad Request');
      expect(answer.body.message).toContain(message);
      expect(await queued()).toBe(0);
    });

    it('400 for a body that is not a JSON object', async () => {
      const answer = await api.call('POST', '/video/caption', { rawBody: '[1, 2]' });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: 'Bad Request', message: expect.any(String) });
    });

    it('400 in the contract shape for malformed JSON, without a stack trace', async () => {
      const answer = await api.call('POST', '/video/caption', { rawBody: '{"url_video": "https://example.com/v.mp4",' });
      expect([answer.status, answer.body]).toEqual([400, { error: 'Bad Request', message: 'The request body is not valid JSON' }]);
      expect(answer.text).not.toMatch(/at |SyntaxError|node_modules/);
      expect(await queued()).toBe(0);
    });

    it('413 in the contract shape for a body over MAX_BODY_MB', async () => {
      const answer = await api.call('POST', '/video/img2vid', {
        body: { ...img2vid, padding: 'x'.repeat(1024 * 1024 + 1) },
      });
      expect([answer.status, answer.body]).toEqual([
        413,
        { error: 'Payload Too Large', message: 'The request body is larger than 1 MB (MAX_BODY_MB)' },
      ]);
      expect(await queued()).toBe(0);
    });

    it.each([
      ['pt-BR', { language: 'pt' }],
      ['pt_BR', { language: 'pt' }],
      ['PT', { language: 'pt' }],
      ['en-US', { language: 'en' }],
      [null, {}],
      ['', {}],
    ])('language %p reaches the job as %p (null and "" mean detect)', async (language, expected) => {
      const answer = await api.call<{ jobId: string }>('POST', '/transcribe', { body: { ...transcribe, language, async: true } });
      expect(answer.status).toBe(202);
      expect((await store.get(answer.body.jobId))?.input).toEqual({ ...transcribe, ...expected });
      expect((await api.call('POST', `/job/${answer.body.jobId}/cancel`)).status).toBe(200);
    });

    it('drops unknown fields at every depth: they never reach the job', async () => {
      const answer = await api.call<{ jobId: string }>('POST', '/video/caption_style', {
        body: {
          ...caption,
          frame_rate: 30,
          force_style: "FontName=Arial'],drawtext",
          constructor: { prototype: { polluted: true } },
          style: { font: { size: 30, weight: 'heavy' }, shadowColor: '#000000' },
          async: true,
        },
      });
      expect(answer.status).toBe(202);
      const record = await store.get(answer.body.jobId);
      expect(record?.input).toEqual({ ...caption, style: { font: { size: 30 } } });
      expect(record?.webhookUrl).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((await api.call('POST', `/job/${answer.body.jobId}/cancel`)).status).toBe(200);

      // /video/caption takes a style too (word-level captions); its unknown fields are dropped the same way.
      const plain = await api.call<{ jobId: string }>('POST', '/video/caption/async', {
        body: { ...caption, style: { font: { size: 30, weight: 'heavy' } } },
      });
      expect(plain.status).toBe(200);
      expect((await store.get(plain.body.jobId))?.input).toEqual({ ...caption, style: { font: { size: 30 } } });
      expect((await api.call('POST', `/job/${plain.body.jobId}/cancel`)).status).toBe(200);
    });

    it('answers unknown routes 404 in the contract shape', async () => {
      const answer = await api.call('GET', '/video/unknown');
      expect([answer.status, answer.body]).toEqual([404, { error: 'Not Found', message: 'Cannot GET /video/unknown' }]);
    });
  });

  describe('asynchronous jobs, status and cancel (no node runs them)', () => {
    const acceptedBody = (jobId: string, status = 'IN_QUEUE') => ({
      jobId,
      status,
      statusUrl: `/video/job/${jobId}`,
      resultUrl: `/video/job/${jobId}/result`,
      message: expect.any(String),
    });

    it.each([
      ['Prefer: respond-async', '/video/caption', () => caption, { Prefer: 'wait=5, respond-async' }],
      ['"async": true', '/video/addaudio', () => ({ ...addaudio, async: true }), {}],
      ['"async": true', '/transcribe', () => ({ ...transcribe, async: true }), {}],
    ])('%s on %s: 202 at once, queued under a UUID', async (_how, path, body, headers) => {
      const answer = await api.call<{ jobId: string }>('POST', path, { body: body(), headers });
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual(acceptedBody(answer.body.jobId));
      expect(answer.body.jobId).toMatch(UUID);
      const record = await store.get(answer.body.jobId);
      expect(record).toEqual(expect.objectContaining({ status: 'IN_QUEUE', executor: 'local', progress: 0 }));
      expect(record?.input).not.toHaveProperty('async');
      const queue = JOB_QUEUES[record!.operation];
      expect(await client.lrange(`${BULL_PREFIX}:${queue}:wait`, 0, -1)).toContain(answer.body.jobId);
      const bullJob = await client.hgetall(`${BULL_PREFIX}:${queue}:${answer.body.jobId}`);
      expect(JSON.parse(bullJob.data)).toEqual({ jobId: answer.body.jobId });
      expect(JSON.parse(bullJob.opts)).toEqual(
        expect.objectContaining({
          jobId: answer.body.jobId,
          attempts: 3,
          removeOnComplete: { age: 2 * 3600 },
          removeOnFail: { age: 2 * 3600 },
        }),
      );
      expect((await api.call('POST', `/job/${answer.body.jobId}/cancel`)).status).toBe(200);
    });

    it.each([['caption'], ['img2vid'], ['addaudio']])('legacy POST /video/%s/async: 200 with the same body', async (operation) => {
      const bodies: Record<string, Record<string, unknown>> = { caption, img2vid, addaudio };
      const answer = await api.call<{ jobId: string }>('POST', `/video/${operation}/async`, { body: bodies[operation] });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(acceptedBody(answer.body.jobId));
      expect(answer.body.jobId).toMatch(UUID);
      expect((await api.call('POST', `/job/${answer.body.jobId}/cancel`)).status).toBe(200);
    });

    it('status, result and cancel of a queued job', async () => {
      const { body: accepted } = await api.call<{ jobId: string }>('POST', '/video/img2vid/async', { body: img2vid });
      const id = accepted.jobId;

      const status = await api.call('GET', `/job/${id}`);
      expect(status.status).toBe(200);
      expect(status.body).toEqual({
        id,
        status: 'IN_QUEUE',
        delayTime: expect.any(Number),
        executionTime: 0,
        output: null,
        error: null,
        progress: 0,
        operation: 'img2vid',
        executor: 'local',
        executor_reason: 'mode_local',
        node: null,
        createdAt: expect.any(String),
        startedAt: null,
        endedAt: null,
        deadline_s: expect.any(Number),
        deadlineAt: null,
      });
      const legacyStatus = await api.call('GET', `/video/job/${id}`);
      expect({ ...legacyStatus.body, delayTime: 0 }).toEqual({ ...status.body, delayTime: 0 });

      const pending = await api.call('GET', `/video/job/${id}/result`);
      expect([pending.status, pending.body]).toEqual([
        202,
        { jobId: id, status: 'IN_QUEUE', message: expect.any(String), statusUrl: `/video/job/${id}` },
      ]);

      const cancelled = await api.call('POST', `/job/${id}/cancel`);
      expect([cancelled.status, cancelled.body]).toEqual([200, { message: 'Job cancelled successfully', jobId: id }]);
      expect(await client.exists(`${BULL_PREFIX}:img2vid:${id}`)).toBe(0);
      expect(await queued()).toBe(0);

      const again = await api.call<{ error: string; message: string }>('POST', `/job/${id}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('Conflict');
      expect(again.body.message).toContain('already ended (CANCELLED)');

      const ended = await api.call<Record<string, unknown>>('GET', `/job/${id}`);
      expect(ended.body).toEqual(expect.objectContaining({ status: 'CANCELLED', startedAt: null, endedAt: expect.any(String) }));
      expect(ended.body.error).toEqual(expect.stringContaining('cancelled'));
      const result = await api.call<Record<string, unknown>>('GET', `/video/job/${id}/result`);
      expect(result.status).toBe(200);
      expect(result.body).toEqual(
        expect.objectContaining({ jobId: id, status: 'CANCELLED', result: expect.any(Object), delayTime: expect.any(Number), executionTime: 0 }),
      );
      const ttl = await client.pttl(`api-gpu:job:${id}`);
      expect(ttl).toBeGreaterThan(2 * 3600_000 - 60_000);
      expect(ttl).toBeLessThanOrEqual(2 * 3600_000);
    });

    it('a synchronous request past SYNC_TIMEOUT_S gets the 202 body, and its job stays queued', async () => {
      const answer = await api.call<{ jobId: string }>('POST', '/video/caption', { body: caption });
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual(acceptedBody(answer.body.jobId));
      expect((await store.get(answer.body.jobId))?.status).toBe('IN_QUEUE');
      expect(await client.lrange(`${BULL_PREFIX}:caption:wait`, 0, -1)).toContain(answer.body.jobId);
      expect((await api.call('POST', `/job/${answer.body.jobId}/cancel`)).status).toBe(200);
    });

    it('stores webhook_url on the record, outside the job input; cancelling sends the final body there, signed', async () => {
      const webhook = `${receiverUrl}/hooks/cancelled`;
      const answer = await api.call<{ jobId: string }>('POST', '/transcribe', {
        body: { ...transcribe, webhook_url: webhook, async: true },
      });
      expect(answer.status).toBe(202);
      const record = await store.get(answer.body.jobId);
      expect(record?.webhookUrl).toBe(webhook);
      expect(record?.input).toEqual(transcribe);

      expect((await api.call('POST', `/job/${answer.body.jobId}/cancel`)).status).toBe(200);
      const delivery = await waitFor('the webhook delivered', () =>
        Promise.resolve(deliveries.find((d) => d.body.includes(answer.body.jobId))),
      );
      const timestamp = String(delivery.headers['x-webhook-timestamp']);
      const signature = createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${delivery.body}`).digest('hex');
      expect(delivery.headers['x-signature']).toBe(`sha256=${signature}`);
      const status = await api.call<{ output: unknown }>('GET', `/job/${answer.body.jobId}`);
      expect(JSON.parse(delivery.body)).toEqual(status.body.output);
      expect(JSON.parse(delivery.body)).toEqual(
        expect.objectContaining({ error: 'Transcription failed', job_id: answer.body.jobId, status: 'CANCELLED' }),
      );
    });

    it.each([['GET', '/job/%s'], ['GET', '/video/job/%s'], ['GET', '/video/job/%s/result'], ['POST', '/job/%s/cancel']])(
      '%s %s of an unknown job: 404 in the contract shape',
      async (method, template) => {
        const id = '6f1c2d1e-1111-4222-8333-444455556666';
        const answer = await api.call('GET' === method ? 'GET' : 'POST', template.replace('%s', id));
        expect([answer.status, answer.body]).toEqual([404, { error: 'Not Found', message: `Job ${id} not found` }]);
      },
    );
  });

  describe('service routes', () => {
    it('GET / describes the service', async () => {
      const answer = await api.call<{ service: string; endpoints: { method: string; path: string }[] }>('GET', '/', { key: null });
      expect(answer.status).toBe(200);
      expect(answer.body.service).toBe('api-gpu');
      expect(answer.body.endpoints).toEqual(expect.arrayContaining([{ method: 'POST', path: '/video/caption', description: expect.any(String) }]));
    });

    it('GET /runpod/health and /runpod/config: 200, RunPod not configured, jobs on local nodes', async () => {
      const health = await api.call('GET', '/runpod/health');
      expect([health.status, health.body]).toEqual([
        200,
        expect.objectContaining({ endpoint: 'RunPod Serverless', configured: false, executor: 'local', message: expect.stringContaining('local GPU nodes') }),
      ]);
      const config = await api.call('GET', '/runpod/config');
      expect([config.status, config.body]).toEqual([
        200,
        expect.objectContaining({ endpointId: null, idleTimeout: null, maxTimeout: null, configured: false }),
      ]);
    });

    it('GET /transcribe/health: 503 in the legacy shape while no node offers a whisper model', async () => {
      const answer = await api.call('GET', '/transcribe/health', { key: null });
      expect([answer.status, answer.body]).toEqual([
        503,
        {
          status: 'unhealthy',
          service: 'transcription',
          whisper: { healthy: false, message: 'No GPU node is running' },
          timestamp: expect.any(String),
        },
      ]);
    });
  });

  describe('shutdown', () => {
    it('a request held for its job gets the 202 body when the API is stopped, and the job stays queued', async () => {
      const patient = deployment.newApi({ SYNC_TIMEOUT_S: '600' });
      await patient.start();
      try {
        const held = patient.call<{ jobId: string; status: string }>('POST', '/video/caption', { body: caption });
        await waitFor('the request held', async () => ((await queued()) > 0 ? true : undefined));
        await patient.stop('SIGTERM');
        const answer = await held;
        expect(answer.status).toBe(202);
        expect(answer.body).toEqual(expect.objectContaining({ status: 'IN_QUEUE', statusUrl: `/video/job/${answer.body.jobId}` }));
        expect((await store.get(answer.body.jobId))?.status).toBe('IN_QUEUE');
        await store.finish(answer.body.jobId, 'CANCELLED', {}, 60_000);
        await client.del(`${BULL_PREFIX}:caption:wait`);
      } finally {
        await patient.stop('SIGKILL');
      }
    }, 90_000);
  });

  describe('a job Bull cannot take', () => {
    it('answers 503 and leaves no record behind when queueing fails after the record was written', async () => {
      const recordsBefore = await client.keys('api-gpu:job:*');
      // Bull queues a job with EVALSHA; the record is a plain HSET and the per-key admission a plain
      // EVAL, so only the queueing fails.
      await client.call('ACL', 'SETUSER', 'default', '-evalsha');
      let answer;
      try {
        answer = await api.call('POST', '/video/caption/async', { body: caption });
      } finally {
        await client.call('ACL', 'SETUSER', 'default', '+evalsha');
      }
      expect(answer.status).toBe(503);
      expect(answer.body).toEqual({ error: 'Service Unavailable', message: expect.stringContaining('nothing was queued') });
      expect(answer.headers.get('retry-after')).not.toBeNull();
      expect((await client.keys('api-gpu:job:*')).sort()).toEqual(recordsBefore.sort());
    });
  });

  describe('Redis outage', () => {
    it('answers 503 with Retry-After while Redis is down, recovers by itself, and keeps accepted jobs', async () => {
      const before = await api.call<{ jobId: string }>('POST', '/video/caption/async', { body: caption });
      expect(before.status).toBe(200);

      await redis.stop();
      const submit = await waitFor('a submission refused with 503', async () => {
        const answer = await api.call('POST', '/video/caption/async', { body: caption });
        return answer.status === 503 ? answer : undefined;
      });
      expect(submit.body).toEqual({ error: 'Service Unavailable', message: expect.any(String) });
      expect(Number(submit.headers.get('retry-after'))).toBeGreaterThan(0);
      const status = await api.call('GET', `/job/${before.body.jobId}`);
      expect(status.status).toBe(503);
      expect(status.headers.get('retry-after')).not.toBeNull();

      await redis.start();
      const after = await waitFor('a submission accepted again', async () => {
        const answer = await api.call<{ jobId: string }>('POST', '/video/caption/async', { body: caption });
        return answer.status === 200 ? answer : undefined;
      });
      expect(after.body.jobId).toMatch(UUID);
      const kept = await waitFor('the job accepted before the outage', async () => {
        const answer = await api.call<{ status: string }>('GET', `/job/${before.body.jobId}`);
        return answer.status === 200 ? answer.body : undefined;
      });
      expect(kept.status).toBe('IN_QUEUE');
      const waiting = await client.lrange(`${BULL_PREFIX}:caption:wait`, 0, -1);
      expect(waiting).toEqual(expect.arrayContaining([before.body.jobId, after.body.jobId]));
      expect(api.output).not.toMatch(/UnhandledPromiseRejection|TypeError/);
    });
  });
});
