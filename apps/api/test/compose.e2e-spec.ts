import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

const NODE_ID = 'compose-e2e-node';

jest.setTimeout(300_000);

// Response bodies are checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

/**
 * POST /video/compose through the whole local path: API, Redis, a GPU node and its worker (FFmpeg,
 * libass, faster-whisper), MinIO. The measurements (length to a frame, loudness, ducking, captions
 * at word times) are in the worker's tests; here the route, its bodies, async answers and refusals.
 */
describe('POST /video/compose through a GPU node', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let api: ApiUnderTest;
  let media: TestMedia;
  let out: string;

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-compose',
      persistentRedis: true,
      media: ['image.jpg', 'image.png', 'speech.wav', 'audio.mp3', 'legendas.srt'],
      api: { SYNC_TIMEOUT_S: '240' },
      nodes: [NODE_ID],
    });
    ({ api, media } = deployment);
    out = `${media.prefix}Projeto Ação/vídeos/`;
  }, 300_000);

  afterAll(() => deployment?.stop());

  const images = () => [
    { id: 'capa', image_url: media.urls['image.jpg'], duracao: 1.5 },
    { id: 'fim', image_url: media.urls['image.png'], duracao: 1.5, zoom_type: 'panright' },
  ];

  it('sync: narration, music and SRT captions in one job, as long as the narration, id_roteiro echoed', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/compose', {
      body: {
        images: images(),
        narration_url: media.urls['speech.wav'],
        music: { url: media.urls['audio.mp3'], ducking_db: 8 },
        captions: { url_srt: media.urls['legendas.srt'], style: { preset: 'shorts' } },
        transition: 'crossfade',
        resolution: '1280x720',
        path: out,
        output_filename: 'vídeo composto.mp4',
        return_intermediates: true,
        id_roteiro: 77,
      },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      code: 200,
      message: 'Video composed and uploaded to S3 successfully',
      filename: 'vídeo composto.mp4',
      id_roteiro: 77,
      word_timing: 'interpolated',
      status: 'COMPLETED',
      node: NODE_ID,
    });
    expect(['exact', 'last_image_extended', 'images_cut']).toContain(body.duration_fit);
    expect(body.duration).toBeCloseTo(body.narration_duration, 1);
    expect(body.mix.ducking_db).toBe(8);
    expect(decodeURIComponent(body.video_url)).toBe(`${s3.publicUrl}/${out}vídeo composto.mp4`);
    const probe = await downloadAndProbe(body.video_url);
    expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(probe.streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 1280, height: 720 });
    expect(Number(probe.format.duration)).toBeCloseTo(body.narration_duration, 1);
    const silent = await downloadAndProbe(body.intermediates.video_url);
    expect(silent.streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(body.intermediates.audio_url).toContain('audio_mixado.m4a');
  });

  it('async with auto captions: 202 at once, progress to 100, the transcript in the result', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/compose', {
      body: {
        images: images(),
        narration_url: media.urls['speech.wav'],
        captions: { auto: { model: 'tiny.en', language: 'en' } },
        resolution: '1280x720',
        path: out,
        output_filename: 'legendado automático.mp4',
        async: true,
      },
    });
    expect(status).toBe(202);
    const ended = await waitFor(
      'compose ended',
      async () => {
        const job = (await api.call<Body>('GET', `/job/${body.jobId}`)).body;
        return job.status === 'COMPLETED' || job.status === 'FAILED' ? job : undefined;
      },
      240_000,
    );
    expect(ended.status).toBe('COMPLETED');
    expect(ended.operation).toBe('compose');
    expect(ended.progress).toBe(100);
    expect(ended.output).toMatchObject({ word_timing: 'measured', transcript: { language: 'en', model: 'tiny.en' } });
  });

  it('sync: a transition longer than half an image, found by the worker, is a 400 naming transition_duration', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/compose', {
      body: {
        images: images(),
        narration_url: media.urls['speech.wav'],
        transition: 'fade',
        transition_duration: 1,
        path: out,
        output_filename: 'x.mp4',
      },
    });
    expect(status).toBe(400);
    expect(body.error).toBe('Bad Request');
    expect(body.message).toContain('transition_duration');
  });

  it.each([
    [{ narration_url: undefined }, 'narration_url'],
    [{ images: [] }, 'images'],
    [{ captions: { style: { preset: 'shorts' } } }, 'captions.auto'],
    [{ captions: { auto: false } }, 'captions.auto'],
    [{ music: { url: 'ftp://example.com/m.mp3' } }, 'music.url'],
    [{ transition: 'wipe' }, 'transition'],
    [{ music: { url: 'http://127.0.0.1:9/trilha.mp3' } }, 'music.url'],
  ])('refuses %j with a 400 naming %s', async (change, field) => {
    const { status, body } = await api.call<Body>('POST', '/video/compose', {
      body: { images: images(), narration_url: media.urls['speech.wav'], path: out, output_filename: 'x.mp4', ...change },
    });
    expect(status).toBe(400);
    expect(body.error).toBe('Bad Request');
    expect(JSON.stringify(body.message)).toContain(field);
  });
});
