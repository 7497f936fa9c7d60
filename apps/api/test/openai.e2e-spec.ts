import { GetBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import OpenAI, { toFile } from 'openai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { expectOrderedWithin, parseVtt } from '../../../test/support/subtitle-checks';

const NODE_ID = 'openai-e2e-node';
const URL_EXPIRY_S = 10;

jest.setTimeout(300_000);

// Response bodies are checked field by field below; typing each shape here would only repeat them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const ENGLISH_WORDS = /hello|world|short|test|transcription/i;

/**
 * The OpenAI-compatible routes and POST /uploads on a live stack (API, Redis, a GPU node with its
 * worker, MinIO), driven by OpenAI's own clients (npm `openai`, Python `openai`) as black boxes.
 */
describe('OpenAI-compatible audio API and uploads (API, Redis, gpu-node, worker, MinIO)', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let api: ApiUnderTest;
  let media: TestMedia;
  let client: OpenAI;
  const file = (name: string) => join(media.dir, name);
  const audio = (name: string) => toFile(readFileSync(file(name)), name);
  const durationMs = async (name: string) =>
    Number((await downloadAndProbe(media.urls[name])).format.duration) * 1000 + 10;

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-openai',
      media: ['speech.wav', 'fala.wav', 'video.mp4', 'legendas.srt'],
      api: { SYNC_TIMEOUT_S: '240', UPLOAD_URL_EXPIRY_S: String(URL_EXPIRY_S), MAX_UPLOAD_MB: '1' },
      nodes: [NODE_ID],
    });
    ({ api, media } = deployment);
    client = new OpenAI({ apiKey: api.key, baseURL: `${api.url}/v1`, maxRetries: 0, timeout: 240_000 });
  }, 300_000);

  afterAll(() => deployment?.stop());

  it('json (the default) with whisper-1: {"text"}, its job id in X-Job-Id and GET /job/:id knowing it', async () => {
    const { data, response } = await client.audio.transcriptions
      .create({ model: 'whisper-1', file: await audio('speech.wav'), language: 'en' })
      .withResponse();
    expect(Object.keys(data)).toEqual(['text']);
    expect(data.text).toMatch(ENGLISH_WORDS);
    const jobId = response.headers.get('x-job-id') as string;
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    const { status, body } = await api.call<Body>('GET', `/job/${jobId}`);
    expect(status).toBe(200);
    expect(body.status).toBe('COMPLETED');
  });

  it('text, srt and vtt: plain bodies with their content types; the VTT parses, inside the audio', async () => {
    const text = await client.audio.transcriptions
      .create({ model: 'tiny.en', file: await audio('speech.wav'), response_format: 'text' })
      .withResponse();
    expect(text.response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text.data).toMatch(ENGLISH_WORDS);
    expect(text.data.endsWith('\n')).toBe(true);

    const srt = await client.audio.transcriptions
      .create({ model: 'tiny.en', file: await audio('speech.wav'), response_format: 'srt' })
      .withResponse();
    expect(srt.response.headers.get('content-type')).toMatch(/^application\/x-subrip/);
    expect(srt.data).toMatch(/^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n/);

    const vtt = await client.audio.transcriptions
      .create({ model: 'tiny.en', file: await audio('speech.wav'), response_format: 'vtt' })
      .withResponse();
    expect(vtt.response.headers.get('content-type')).toMatch(/^text\/vtt/);
    const cues = parseVtt(vtt.data);
    expect(cues.length).toBeGreaterThan(0);
    expectOrderedWithin(cues, await durationMs('speech.wav'));
  });

  it('verbose_json: segments always, words only with word granularity ([] and plain key alike)', async () => {
    const words = await client.audio.transcriptions.create({
      model: 'whisper-1',
      file: await audio('speech.wav'),
      language: 'en',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
    });
    expect(words).toMatchObject({ task: 'transcribe', language: 'english', text: expect.stringMatching(ENGLISH_WORDS) });
    expect(words.duration).toBeGreaterThan(1);
    expect(words.duration * 1000).toBeLessThanOrEqual(await durationMs('speech.wav'));
    expect(words.segments?.length).toBeGreaterThan(0);
    expect(words.segments?.[0]).toEqual(
      expect.objectContaining({ id: 0, seek: 0, start: expect.any(Number), end: expect.any(Number), text: expect.any(String), tokens: [] }),
    );
    expect(words.words?.length).toBeGreaterThan(3);
    expect(words.words?.map((word) => word.word).join(' ')).toBe(words.text);

    const form = new FormData();
    form.append('file', new Blob([readFileSync(file('speech.wav'))]), 'speech.wav');
    form.append('model', 'tiny.en');
    form.append('response_format', 'verbose_json');
    form.append('timestamp_granularities', 'segment');
    const response = await fetch(`${api.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${api.key}` },
      body: form,
    });
    const body = (await response.json()) as Body;
    expect(response.status).toBe(200);
    expect(body.segments.length).toBeGreaterThan(0);
    expect(body).not.toHaveProperty('words');
  });

  it('a translation: Portuguese speech answered in English', async () => {
    const translation = await client.audio.translations.create({
      model: 'base',
      file: await audio('fala.wav'),
      response_format: 'verbose_json',
    });
    expect((translation as unknown as Body).language).toBe('english');
    expect(translation.text).toMatch(/good|morning|today|everyone|food|talk/i);
    expect(translation.text).not.toMatch(/hoje|vamos|falar|alimentação/i);
  });

  it('Portuguese espeak-ng speech with language "pt": Portuguese text with its accents', async () => {
    const answer = await client.audio.transcriptions.create({
      model: 'base',
      file: await audio('fala.wav'),
      response_format: 'verbose_json',
      language: 'pt',
    });
    expect(answer.language).toBe('portuguese');
    expect(answer.text).toMatch(/bom dia|hoje|falar/i);
    expect(answer.text).toMatch(/[áãçéêíóõú]/i);
  });

  // espeak-ng's synthetic voice is a poor sample for Whisper's language detection (base often hears
  // Spanish in it), so without a language what is checked is the answer's form: the language the
  // job detected, named as OpenAI names languages.
  it('Portuguese espeak-ng speech without a language: the detected language, in OpenAI\'s words', async () => {
    const { data, response } = await client.audio.transcriptions
      .create({ model: 'base', file: await audio('fala.wav'), response_format: 'verbose_json' })
      .withResponse();
    const job = await api.call<Body>('GET', `/job/${response.headers.get('x-job-id')}`);
    const detected = job.body.output.language as string;
    expect(detected).toMatch(/^[a-z]{2,3}$/);
    expect(data.language).toBe(new Intl.DisplayNames(['en'], { type: 'language' }).of(detected)?.toLowerCase());
    expect(data.text).toBe(job.body.output.transcription);
    expect(data.text.length).toBeGreaterThan(10);
  });

  it('a raw multipart request shaped like n8n\'s OpenAI node (model whisper-1 and file only, Bearer key)', async () => {
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob([readFileSync(file('speech.wav'))], { type: 'audio/wav' }), 'data');
    const response = await fetch(`${api.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${api.key}`, Accept: 'application/json' },
      body: form,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-job-id')).toBeTruthy();
    const body = (await response.json()) as Body;
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toMatch(ENGLISH_WORDS);
  });

  it('file_url instead of file (the extension), with the same URL rules as every input', async () => {
    const form = new FormData();
    form.append('model', 'tiny.en');
    form.append('file_url', media.urls['speech.wav']);
    const ok = await fetch(`${api.url}/v1/audio/transcriptions`, { method: 'POST', headers: { 'X-API-Key': api.key }, body: form });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Body).text).toMatch(ENGLISH_WORDS);

    const refused = new FormData();
    refused.append('model', 'tiny.en');
    refused.append('file_url', 'http://169.254.169.254/latest/meta-data/audio.mp3');
    const answer = await fetch(`${api.url}/v1/audio/transcriptions`, { method: 'POST', headers: { 'X-API-Key': api.key }, body: refused });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as Body).error).toMatchObject({ type: 'invalid_request_error', param: 'file_url' });
  });

  it.each([
    ['an unknown response_format', { response_format: 'xml' }, 'response_format'],
    ['word granularity with json, which cannot carry it', { timestamp_granularities: ['word'] }, 'timestamp_granularities'],
    ['a temperature above 1', { temperature: 2 }, 'temperature'],
    ['a language Whisper does not know', { language: 'xx' }, 'language'],
  ])('refuses %s with 400 in OpenAI\'s envelope naming the field', async (_case, extra, param) => {
    const failure = await client.audio.transcriptions
      .create({ model: 'whisper-1', file: await audio('speech.wav'), ...(extra as object) } as never)
      .then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    const error = failure as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.status).toBe(400);
    expect(error.error).toEqual({ message: expect.any(String), type: 'invalid_request_error', param, code: expect.anything() });
  });

  it('a missing or wrong key: 401 in OpenAI\'s envelope, before the upload is read', async () => {
    const wrong = new OpenAI({ apiKey: 'not-a-key', baseURL: `${api.url}/v1`, maxRetries: 0 });
    const failure = await wrong.audio.transcriptions
      .create({ model: 'whisper-1', file: await audio('speech.wav') })
      .then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((failure as InstanceType<typeof OpenAI.AuthenticationError>).error).toEqual({
      message: 'Invalid or missing API key',
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_api_key',
    });
    const none = await fetch(`${api.url}/v1/models`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as Body).error.code).toBe('invalid_api_key');
  });

  it('a file over MAX_UPLOAD_MB: 413 in OpenAI\'s envelope', async () => {
    const failure = await client.audio.transcriptions
      .create({ model: 'whisper-1', file: await toFile(Buffer.alloc(1024 * 1024 + 1), 'big.wav') })
      .then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((failure as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'invalid_request_error', param: null });
  });

  it('GET /v1/models lists whisper-1 and the models the node serves, in OpenAI\'s shape', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      expect(model).toEqual({ id: expect.any(String), object: 'model', created: expect.any(Number), owned_by: 'api-gpu' });
      ids.push(model.id);
    }
    expect(ids).toEqual(expect.arrayContaining(['whisper-1', 'tiny.en', 'base']));
  });

  it("OpenAI's Python client: json, srt, verbose_json with words, a translation, a bad field, a wrong key, the models", async () => {
    const { stdout } = await promisify(execFile)(
      join(REPO_ROOT, '.venv/bin/python'),
      [join(__dirname, 'support/openai_python_client.py'), `${api.url}/v1`, api.key, file('speech.wav'), file('fala.wav')],
      { timeout: 280_000 },
    );
    const outcome = JSON.parse(stdout) as Body;
    expect(outcome.json).toMatch(ENGLISH_WORDS);
    expect(outcome.srt).toMatch(/^1\n00:00:/);
    expect(outcome.verbose_json.words.length).toBeGreaterThan(3);
    expect(outcome.verbose_json.segments.length).toBeGreaterThan(0);
    expect(outcome.translation).toMatch(/good|morning|today|everyone|food|talk/i);
    expect(outcome.bad_field).toEqual({
      status: 400,
      body: { message: expect.any(String), type: 'invalid_request_error', param: 'temperature', code: expect.anything() },
    });
    expect(outcome.missing_key).toMatchObject({ status: 401, body: { code: 'invalid_api_key' } });
    expect(outcome.models).toContain('whisper-1');
  });

  describe('POST /uploads', () => {
    it('a presigned PUT under uploads/, then a caption job reading the s3:// URL', async () => {
      const ticket = await api.call<Body>('POST', '/uploads', { body: { filename: 'vídeo local.mp4' } });
      expect(ticket.status).toBe(201);
      expect(ticket.body).toEqual({
        upload_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\//),
        method: 'PUT',
        s3_url: expect.stringMatching(new RegExp(`^s3://${s3.bucket}/uploads/[0-9a-f-]{36}/vídeo local\\.mp4$`)),
        key: expect.stringMatching(/^uploads\//),
        expires_in: URL_EXPIRY_S,
        expires_at: expect.any(String),
        retention_hours: 24,
      });
      const put = await fetch(ticket.body.upload_url, { method: 'PUT', body: readFileSync(file('video.mp4')) });
      expect(put.status).toBe(200);

      const captioned = await api.call<Body>('POST', '/video/caption', {
        body: {
          url_video: ticket.body.s3_url,
          url_srt: media.urls['legendas.srt'],
          path: `${media.prefix}legendado/`,
          output_filename: 'com legenda.mp4',
        },
      });
      expect(captioned.status).toBe(200);
      expect(captioned.body.video_url).toContain('legendado');
    });

    it('an upload URL past its expiry is refused by MinIO', async () => {
      const ticket = await api.call<Body>('POST', '/uploads', { body: {} });
      expect(ticket.body.s3_url).toMatch(/\/file$/);
      await new Promise((resolve) => setTimeout(resolve, (URL_EXPIRY_S + 2) * 1000));
      const put = await fetch(ticket.body.upload_url, { method: 'PUT', body: 'late' });
      expect(put.status).toBe(403);
      expect(await put.text()).toMatch(/expired/i);
    });

    it('a filename with a slash: 400 naming filename; no key: 401', async () => {
      const bad = await api.call<Body>('POST', '/uploads', { body: { filename: '../x.mp4' } });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/filename/);
      expect((await api.call('POST', '/uploads', { body: {}, key: null })).status).toBe(401);
    });

    it('objects under uploads/ expire by a bucket lifecycle rule (UPLOAD_RETENTION_HOURS, in whole days)', async () => {
      const lifecycle = await media.s3Client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: s3.bucket }));
      expect(lifecycle.Rules).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ ID: 'api-gpu-uploads-expiry', Status: 'Enabled', Filter: { Prefix: 'uploads/' }, Expiration: { Days: 1 } }),
        ]),
      );
    });
  });
});
