import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

const NODE_ID = 'pipeline-e2e-node';

jest.setTimeout(300_000);

// Response bodies are checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

/**
 * The video pipeline's joining routes through the whole local path: API, Redis, a GPU node and its
 * worker, FFmpeg, MinIO. The measurements (exact durations, sync, bit-identical packets) are in the
 * worker's tests; here the routes, their bodies, async answers and refusals.
 */
describe('pipeline routes through a GPU node', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let api: ApiUnderTest;
  let media: TestMedia;
  let out: string;

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-pipeline',
      persistentRedis: true,
      media: ['video.mp4', 'audio.mp3', 'mudo.mp4'],
      api: { SYNC_TIMEOUT_S: '240' },
      nodes: [NODE_ID],
    });
    ({ api, media } = deployment);
    out = `${media.prefix}Projeto Ação/vídeos/`;
  }, 300_000);

  afterAll(() => deployment?.stop());

  const clips = () => [{ video_url: media.urls['video.mp4'] }, { video_url: media.urls['video.mp4'] }];

  it('POST /video/concatenate: sync by default, stream copy of like clips, id_roteiro echoed', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/concatenate', {
      body: { video_urls: clips(), path: out, output_filename: 'vídeo final.mp4', id_roteiro: 1234 },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      code: 200,
      message: 'Videos concatenated and uploaded to S3 successfully',
      filename: 'vídeo final.mp4',
      encoder: 'copy',
      video_stream: 'copied',
      id_roteiro: 1234,
      status: 'COMPLETED',
      node: NODE_ID,
    });
    expect(body.duration).toBeCloseTo(4, 5);
    expect(decodeURIComponent(body.video_url)).toBe(`${s3.publicUrl}/${out}vídeo final.mp4`);
    const probe = await downloadAndProbe(body.video_url);
    expect(Number(probe.format.duration)).toBeCloseTo(4, 1);
  });

  it('POST /video/concatenate async: 202 at once, the same body once it has run', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/concatenate', {
      body: { video_urls: clips(), path: out, output_filename: 'cruzado.mp4', transition: 'crossfade', async: true },
    });
    expect(status).toBe(202);
    const ended = await waitFor(
      'concatenate ended',
      async () => {
        const job = (await api.call<Body>('GET', `/job/${body.jobId}`)).body;
        return job.status === 'COMPLETED' || job.status === 'FAILED' ? job : undefined;
      },
      240_000,
    );
    expect(ended.status).toBe('COMPLETED');
    expect(ended.output).toMatchObject({ video_stream: 're-encoded', normalized_reason: expect.stringContaining('crossfade') });
    expect(ended.output.duration).toBeCloseTo(3.5, 5);
  });

  it.each([
    [{ video_urls: [{ video_url: 'https://example.com/a.mp4' }] }, 'video_urls'],
    [{ transition: 'wipe' }, 'transition'],
    [{ resolution: 'full-hd' }, 'resolution'],
    [{ id_roteiro: -1 }, 'id_roteiro'],
  ])('POST /video/concatenate refuses %j with a 400 naming %s', async (change, field) => {
    const { status, body } = await api.call<Body>('POST', '/video/concatenate', {
      body: { video_urls: clips(), path: out, output_filename: 'x.mp4', ...change },
    });
    expect(status).toBe(400);
    expect(body.error).toBe('Bad Request');
    expect(JSON.stringify(body.message)).toContain(field);
  });

  it('POST /video/concat_video_audio: the legacy body of bare URLs, as long as the narration', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/concat_video_audio', {
      body: {
        video_urls: [media.urls['video.mp4']],
        audio_url: media.urls['audio.mp3'],
        path: out,
        output_filename: 'vídeo narrado.mp4',
        normalize: false,
        id_roteiro: 5,
      },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      message: 'Videos laid under the narration and uploaded to S3 successfully',
      filename: 'vídeo narrado.mp4',
      id_roteiro: 5,
      segments: expect.any(Number),
    });
    const probe = await downloadAndProbe(body.video_url);
    expect(probe.streams.filter((s) => s.codec_type === 'audio')).toHaveLength(1);
    expect(Math.abs(Number(probe.format.duration) - body.duration)).toBeLessThanOrEqual(1 / 24);
  });

  it('POST /video/concat_video_audio refuses an empty video_urls with a 400 naming it', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/concat_video_audio', {
      body: { video_urls: [], audio_url: media.urls['audio.mp3'], path: out, output_filename: 'x.mp4' },
    });
    expect(status).toBe(400);
    expect(JSON.stringify(body.message)).toContain('video_urls');
  });

  it('POST /video/trilhasonora: music under the narration, the video stream copied', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/trilhasonora', {
      body: { url_video: media.urls['video.mp4'], trilha_sonora: media.urls['audio.mp3'], path: out, output_filename: 'com trilha.mp4' },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      message: 'Music laid under the narration and uploaded to S3 successfully',
      video_stream: 'copied',
      mix: { narration_lufs: expect.any(Number), music_gain_db: expect.any(Number), ducking_db: 6 },
    });
    expect(body.mix.music_lufs).toBeCloseTo(body.mix.narration_lufs - 20, 1);
  });

  it('POST /audio/trilhasonora and /audio/concatenate: audio results, default file names', async () => {
    const music = await api.call<Body>('POST', '/audio/trilhasonora', {
      body: { audio_url: media.urls['audio.mp3'], trilha_sonora: media.urls['audio.mp3'], path: out, id_roteiro: 11 },
    });
    expect(music.status).toBe(200);
    expect(music.body).toMatchObject({ filename: 'audio_with_trilha.mp3', id_roteiro: 11 });
    expect(decodeURIComponent(music.body.audio_url)).toBe(`${s3.publicUrl}/${out}audio_with_trilha.mp3`);
    const joined = await api.call<Body>('POST', '/audio/concatenate', {
      body: { audio_urls: [{ audio_url: media.urls['audio.mp3'] }, { audio_url: music.body.audio_url }], path: out, gap_s: 0.5 },
    });
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ message: 'Audio files concatenated and uploaded to S3 successfully', filename: 'audio_concatenated.mp3' });
    const probe = await downloadAndProbe(joined.body.audio_url);
    expect(Number(probe.format.duration)).toBeCloseTo(joined.body.duration, 1);
  });

  it('POST /video/trilhasonora of a video without audio: a 400 naming url_video', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/trilhasonora', {
      body: { url_video: media.urls['mudo.mp4'], trilha_sonora: media.urls['audio.mp3'], path: out, output_filename: 'x.mp4' },
    });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'Bad Request', field: 'url_video' });
  });
});
