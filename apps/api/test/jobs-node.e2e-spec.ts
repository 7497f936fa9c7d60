import { JobStore } from '@app/common';
import { readdirSync } from 'node:fs';
import { TestRedis, waitFor } from '../../../test/support/processes';
import { ApiUnderTest, GpuNodeUnderTest, TestMedia, downloadAndProbe, downloadText, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { expectOrderedWithin, parseEnhancedLrc, parseVtt } from '../../../test/support/subtitle-checks';

const NODE_ID = 'jobs-e2e-node';

jest.setTimeout(300_000);

// Response bodies are checked field by field below; typing each shape here would only repeat them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

// No GPU here: FFMPEG_ENCODER=auto settles for libx264, and every result says why.
const NO_NVENC_HERE = expect.stringMatching(/^libx264 instead of h264_nvenc: /);
const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

/** The documented `execution` block: consistent with itself. */
function expectExecution(execution: Body): void {
  expect(execution).toEqual({ startTime: iso, endTime: iso, durationMs: expect.any(Number), durationSeconds: expect.any(Number) });
  expect(execution.durationMs).toBe(Date.parse(execution.endTime) - Date.parse(execution.startTime));
  expect(execution.durationSeconds).toBeCloseTo(execution.durationMs / 1000, 3);
}

function expectStats(stats: Body, jobId: string, execution: Body): void {
  expect(stats.jobId).toBe(jobId);
  expect(stats.delayTime).toBeGreaterThanOrEqual(0);
  expect(stats.executionTime).toBeGreaterThan(0);
  expect(stats.delayTime + stats.executionTime).toBe(execution.durationMs);
}

function videoStream(probe: Awaited<ReturnType<typeof downloadAndProbe>>) {
  return probe.streams.find((s) => s.codec_type === 'video');
}

/** What differs between two runs of the same job: its id, its times, where it ran. */
function withoutRunFacts(body: Body): Body {
  const rest: Body = { ...body, stats: { ...body.stats } };
  for (const field of ['jobId', 'job_id', 'execution', 'node']) delete rest[field];
  for (const field of ['jobId', 'delayTime', 'executionTime']) delete rest.stats[field];
  return rest;
}

/**
 * The whole path of a local job: the API process, a real Redis, a GPU node process with its warm
 * Python worker, FFmpeg, faster-whisper and the test MinIO. Outputs are downloaded from the URLs the
 * API returns and probed with ffprobe.
 */
describe('jobs through a GPU node (API, Redis, gpu-node, worker, MinIO)', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let redis: TestRedis;
  let store: JobStore;
  let api: ApiUnderTest;
  let node: GpuNodeUnderTest;
  let media: TestMedia;
  let workerTmp: string;
  let out: string;

  const jobStatus = async (id: string) => (await api.call<Body>('GET', `/job/${id}`)).body;
  const untilEnded = (id: string, timeoutMs = 240_000) =>
    waitFor(
      `job ${id} ended`,
      async () => {
        const body = await jobStatus(id);
        return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(body.status) ? body : undefined;
      },
      timeoutMs,
    );
  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-jobs-node',
      persistentRedis: true,
      media: ['video.mp4', 'legendas.srt', 'audio.mp3', 'image.jpg', 'image.png', 'speech.wav'],
      api: { SYNC_TIMEOUT_S: '240' },
      nodes: [NODE_ID],
    });
    ({ api, media, redis, store, node, workerTmp } = deployment);
    out = `${media.prefix}Projeto Ação/vídeos/`;
  }, 300_000);

  afterAll(() => deployment?.stop());

  const captionRequest = (filename: string) => ({
    url_video: media.urls['video.mp4'],
    url_srt: media.urls['legendas.srt'],
    path: out,
    output_filename: filename,
  });

  const img2vidRequest = () => ({
    images: [
      { id: 'capa', image_url: media.urls['image.jpg'], duracao: 1 },
      { id: 'fim', image_url: media.urls['image.png'], duracao: 1.5, zoom_type: 'panright' },
    ],
    path: `${out}temp/`,
  });

  it('POST /video/caption: the documented body, and a video with the captions burnt in', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/caption', {
      body: { ...captionRequest('vídeo legendado.mp4'), frame_rate: 30, force_style: 'Fontsize=99' },
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      code: 200,
      message: 'Video caption completed and uploaded to S3 successfully',
      video_url: expect.any(String),
      filename: 'vídeo legendado.mp4',
      encoder: 'libx264',
      encoder_fallback: NO_NVENC_HERE,
      font: 'Liberation Sans',
      execution: expect.any(Object),
      stats: expect.any(Object),
      jobId: expect.any(String),
      status: 'COMPLETED',
      executor: 'local',
      executor_reason: 'mode_local',
      node: NODE_ID,
    });
    expect(decodeURIComponent(body.video_url)).toBe(`${s3.publicUrl}/${out}vídeo legendado.mp4`);
    expectExecution(body.execution);
    expectStats(body.stats, body.jobId, body.execution);
    expect(Object.keys(body.stats).sort()).toEqual(['delayTime', 'executionTime', 'jobId']);

    const probe = await downloadAndProbe(body.video_url);
    expect(videoStream(probe)).toEqual(expect.objectContaining({ codec_name: 'h264', width: 160, height: 90 }));
    expect(probe.streams.some((s) => s.codec_type === 'audio')).toBe(true);
    expect(Number(probe.format.duration)).toBeCloseTo(2, 0);

    const status200 = await jobStatus(body.jobId);
    expect(status200).toEqual(expect.objectContaining({ id: body.jobId, status: 'COMPLETED', progress: 100, output: body, error: null, node: NODE_ID }));
  });

  it('POST /video/caption_style: a styled caption', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/caption_style', {
      body: {
        ...captionRequest('estilo.mp4'),
        style: { font: { size: 32, bold: true }, colors: { primary: '#FFD700' }, position: { alignment: 8, marginVertical: 10 } },
      },
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      code: 200,
      message: 'Video caption completed and uploaded to S3 successfully',
      video_url: expect.any(String),
      filename: 'estilo.mp4',
      encoder: 'libx264',
      encoder_fallback: NO_NVENC_HERE,
      word_timing: 'interpolated',
      font: 'DejaVu Sans',
      execution: expect.any(Object),
      stats: expect.any(Object),
      jobId: expect.any(String),
      status: 'COMPLETED',
      executor: 'local',
      executor_reason: 'mode_local',
      node: NODE_ID,
    });
    expectExecution(body.execution);
    expectStats(body.stats, body.jobId, body.execution);
    expect(decodeURIComponent(body.video_url)).toBe(`${s3.publicUrl}/${out}estilo.mp4`);
    const probe = await downloadAndProbe(body.video_url);
    expect(videoStream(probe)).toEqual(expect.objectContaining({ codec_name: 'h264', width: 160, height: 90 }));
  });

  let img2vidSync: Body;

  it('POST /video/img2vid: one 1920x1080 24 fps clip per image, in order, with its id', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/img2vid', { body: img2vidRequest() });
    expect(status).toBe(200);
    expect(body).toEqual({
      code: 200,
      message: 'Images converted to videos and uploaded to S3 successfully',
      videos: [
        { id: 'capa', video_url: expect.any(String), filename: 'video_1.mp4' },
        { id: 'fim', video_url: expect.any(String), filename: 'video_2.mp4' },
      ],
      encoder: 'libx264',
      encoder_fallback: NO_NVENC_HERE,
      execution: expect.any(Object),
      stats: { jobId: body.jobId, delayTime: expect.any(Number), executionTime: expect.any(Number), total: 2, processed: 2 },
      jobId: expect.any(String),
      status: 'COMPLETED',
      executor: 'local',
      executor_reason: 'mode_local',
      node: NODE_ID,
    });
    expectExecution(body.execution);
    expectStats(body.stats, body.jobId, body.execution);
    for (const [index, seconds] of [1, 1.5].entries()) {
      const video = body.videos[index];
      expect(decodeURIComponent(video.video_url)).toBe(`${s3.publicUrl}/${out}temp/${video.filename}`);
      const probe = await downloadAndProbe(video.video_url);
      expect(videoStream(probe)).toEqual(expect.objectContaining({ codec_name: 'h264', width: 1920, height: 1080, r_frame_rate: '24/1' }));
      expect(Number(probe.format.duration)).toBeCloseTo(seconds, 1);
    }
    img2vidSync = body;
  });

  it('POST /video/addaudio: the video with the new audio, ending with the shorter input', async () => {
    const { status, body } = await api.call<Body>('POST', '/video/addaudio', {
      body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: out, output_filename: 'com áudio.mp4' },
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      code: 200,
      message: 'Video addaudio completed and uploaded to S3 successfully',
      video_url: expect.any(String),
      filename: 'com áudio.mp4',
      encoder: expect.stringMatching(/^(copy|libx264)$/),
      ...(body.encoder === 'libx264' ? { encoder_fallback: NO_NVENC_HERE } : {}),
      video_stream: expect.stringMatching(/^(copied|re-encoded)$/),
      execution: expect.any(Object),
      stats: expect.any(Object),
      jobId: expect.any(String),
      status: 'COMPLETED',
      executor: 'local',
      executor_reason: 'mode_local',
      node: NODE_ID,
    });
    expect(Object.keys(body.stats).sort()).toEqual(['delayTime', 'executionTime', 'jobId']);
    expectExecution(body.execution);
    expectStats(body.stats, body.jobId, body.execution);
    expect(decodeURIComponent(body.video_url)).toBe(`${s3.publicUrl}/${out}com áudio.mp4`);
    const probe = await downloadAndProbe(body.video_url);
    expect(videoStream(probe)?.codec_name).toBe('h264');
    expect(probe.streams.filter((s) => s.codec_type === 'audio')).toHaveLength(1);
    expect(Number(probe.format.duration)).toBeCloseTo(1, 0);
  });

  it('POST /transcribe: the documented body, with files that can be downloaded', async () => {
    const { status, body } = await api.call<Body>('POST', '/transcribe', {
      body: { audio_url: media.urls['speech.wav'], path: `${media.prefix}transcrições/`, language: 'en', model: 'tiny.en' },
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      code: 200,
      message: 'Transcription completed successfully',
      job_id: body.jobId,
      language: 'en',
      transcription: expect.stringMatching(/hello/i),
      files: {
        segments: { srt: expect.any(String), vtt: expect.stringMatching(/segments\.vtt$/), json: expect.any(String) },
        words: {
          ass_karaoke: expect.any(String),
          vtt_karaoke: expect.stringMatching(/karaoke\.vtt$/),
          lrc: expect.stringMatching(/lyrics\.lrc$/),
          json: expect.any(String),
        },
      },
      execution: expect.any(Object),
      stats: {
        segments: expect.any(Number),
        words: expect.any(Number),
        model: 'tiny.en',
        model_requested: 'tiny.en',
        device: 'cpu',
        jobId: body.jobId,
        delayTime: expect.any(Number),
        executionTime: expect.any(Number),
      },
      jobId: expect.any(String),
      status: 'COMPLETED',
      executor: 'local',
      executor_reason: 'mode_local',
      node: NODE_ID,
    });
    expectExecution(body.execution);
    expect(body.stats.words).toBeGreaterThan(3);
    expect(await downloadText(body.files.segments.srt)).toMatch(/^1\r?\n00:00:0\d,\d{3} --> /);
    expect(await downloadText(body.files.words.ass_karaoke)).toContain('\\k');
    expect(JSON.parse(await downloadText(body.files.words.json))).toEqual(expect.objectContaining({ words: expect.any(Array) }));
    const audioMs = Math.ceil(Number((await downloadAndProbe(media.urls['speech.wav'])).format.duration) * 1000) + 10;
    const segmentCues = parseVtt(await downloadText(body.files.segments.vtt));
    expect(segmentCues).toHaveLength(body.stats.segments);
    expectOrderedWithin(segmentCues, audioMs);
    const karaokeCues = parseVtt(await downloadText(body.files.words.vtt_karaoke));
    expectOrderedWithin(karaokeCues, audioMs);
    expect(karaokeCues.map((cue) => cue.text).join(' ')).toBe(body.transcription);
    expect(karaokeCues.reduce((marks, cue) => marks + cue.marksMs.length + 1, 0)).toBeGreaterThan(3);
    const lyrics = parseEnhancedLrc(await downloadText(body.files.words.lrc));
    expectOrderedWithin(lyrics, audioMs);
    expect(lyrics.flatMap((line) => line.marksMs)).toHaveLength(body.stats.words);

    const health = await api.call<Body>('GET', '/transcribe/health', { key: null });
    expect(health.status).toBe(200);
    expect(health.body).toEqual({
      status: 'healthy',
      service: 'transcription',
      whisper: { healthy: true, message: expect.stringContaining('tiny.en') },
      timestamp: iso,
    });
  });

  it('a transcription of something that is not audio fails on its input: 400 in the transcription failure shape', async () => {
    const { status, body } = await api.call<Body>('POST', '/transcribe', {
      body: { audio_url: media.urls['legendas.srt'], path: `${media.prefix}falha/` },
    });
    expect(status).toBe(400);
    expect(body).toEqual(
      expect.objectContaining({ error: 'Transcription failed', message: expect.any(String), job_id: body.jobId, status: 'FAILED' }),
    );
    expectExecution(body.execution);
    const status200 = await jobStatus(body.jobId);
    expect(status200).toEqual(expect.objectContaining({ status: 'FAILED', error: body.message, output: body }));
  });

  it('async: 202, progress rises while it runs, and the final body equals what sync returns', async () => {
    const long = await api.call<Body>('POST', '/video/img2vid', {
      body: { images: [{ id: 'longo', image_url: media.urls['image.jpg'], duracao: 12 }], path: `${media.prefix}progresso/` },
      headers: { Prefer: 'respond-async' },
    });
    expect(long.status).toBe(202);
    const seen: number[] = [];
    const ended = await waitFor(
      'async job ended',
      async () => {
        const body = await jobStatus(long.body.jobId);
        if (body.status === 'IN_PROGRESS') seen.push(body.progress);
        return body.status === 'COMPLETED' ? body : undefined;
      },
      240_000,
    );
    const during = seen.filter((p) => p > 0 && p < 100);
    expect(new Set(during).size).toBeGreaterThanOrEqual(2);
    expect(during).toEqual([...during].sort((a, b) => a - b));
    expect(ended.progress).toBe(100);

    const again = await api.call<Body>('POST', '/video/img2vid', { body: { ...img2vidRequest(), async: true } });
    expect(again.status).toBe(202);
    const final = await untilEnded(again.body.jobId);
    expect(final.status).toBe('COMPLETED');
    expect(withoutRunFacts(final.output)).toEqual(withoutRunFacts(img2vidSync));
    const result = await api.call<Body>('GET', `/video/job/${again.body.jobId}/result`);
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      jobId: again.body.jobId,
      status: 'COMPLETED',
      result: final.output,
      delayTime: final.delayTime,
      executionTime: final.executionTime,
    });
  });

  it('cancel of a running job: it stops, leaves no object in MinIO and no temp files', async () => {
    const path = `${media.prefix}cancelado-em-curso/`;
    const running = await api.call<Body>('POST', '/video/img2vid', {
      body: {
        images: [
          { id: 'a', image_url: media.urls['image.jpg'], duracao: 1 },
          { id: 'b', image_url: media.urls['image.png'], duracao: 40 },
        ],
        path,
        async: true,
      },
    });
    const id = running.body.jobId;
    await waitFor('job running with progress', async () => {
      const body = await jobStatus(id);
      return body.status === 'IN_PROGRESS' && body.progress > 0 ? true : undefined;
    }, 120_000);
    const cancel = await api.call<Body>('POST', `/job/${id}/cancel`);
    expect([cancel.status, cancel.body]).toEqual([200, { message: 'Job cancelled successfully', jobId: id }]);
    await deployment.untilNodesIdle(60_000);
    const record = await store.get(id);
    expect(record?.status).toBe('CANCELLED');
    expect(record?.output).toBeUndefined();
    expect(await media.keysUnder(path)).toEqual([]);
    expect(readdirSync(workerTmp)).toEqual([]);
    expect((await api.call('POST', `/job/${id}/cancel`)).status).toBe(409);
  });

  it('cancel of a queued job: it never runs, even once the node is free', async () => {
    const busyPath = `${media.prefix}ocupado/`;
    const busy = await api.call<Body>('POST', '/video/img2vid', {
      body: { images: [{ id: 'x', image_url: media.urls['image.jpg'], duracao: 40 }], path: busyPath, async: true },
    });
    await waitFor('node busy', async () => ((await jobStatus(busy.body.jobId)).status === 'IN_PROGRESS' ? true : undefined), 120_000);
    const queued = await api.call<Body>('POST', '/video/caption/async', { body: captionRequest('nunca.mp4') });
    expect((await jobStatus(queued.body.jobId)).status).toBe('IN_QUEUE');
    expect((await api.call('POST', `/job/${queued.body.jobId}/cancel`)).status).toBe(200);
    expect((await api.call('POST', `/job/${busy.body.jobId}/cancel`)).status).toBe(200);

    // Queued after the cancelled one: once it has run, the node has been free to take the other.
    const later = await api.call<Body>('POST', '/video/caption', { body: captionRequest('depois.mp4') });
    expect(later.status).toBe(200);
    const record = await store.get(queued.body.jobId);
    expect(record).toEqual(expect.objectContaining({ status: 'CANCELLED', progress: 0 }));
    expect(record?.startedAt).toBeUndefined();
    expect(await media.exists(`${out}nunca.mp4`)).toBe(false);
  });

  it('the API restarted while jobs are queued: they all complete', async () => {
    await node.stop();
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const answer = await api.call<Body>('POST', '/video/caption/async', { body: captionRequest(`reinício ${n}.mp4`) });
      expect(answer.status).toBe(200);
      ids.push(answer.body.jobId);
    }
    await api.stop();
    await api.start();
    await node.start();
    await node.ready(api);
    for (const id of ids) {
      const ended = await untilEnded(id);
      expect(ended.status).toBe('COMPLETED');
      const probe = await downloadAndProbe(ended.output.video_url);
      expect(videoStream(probe)?.codec_name).toBe('h264');
    }
  });

  it('Redis restarted under load: 503 with Retry-After meanwhile, recovery by itself, every accepted job completes', async () => {
    const accepted: string[] = [];
    const refusals: { status: number; retryAfter: string | null; body: Body }[] = [];
    let submitting = true;
    let n = 0;
    const load = (async () => {
      while (submitting) {
        n += 1;
        const answer = await api
          .call<Body>('POST', '/video/caption/async', { body: captionRequest(`carga ${n}.mp4`) })
          .catch(() => undefined);
        if (answer?.status === 200) accepted.push(answer.body.jobId);
        else if (answer) refusals.push({ status: answer.status, retryAfter: answer.headers.get('retry-after'), body: answer.body });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await waitFor('jobs accepted before the outage', () => Promise.resolve(accepted.length >= 3 || undefined));
    await redis.stop();
    await waitFor('submissions refused during the outage', () => Promise.resolve(refusals.length >= 3 || undefined));
    const acceptedBeforeRestart = accepted.length;
    await redis.start();
    await waitFor(
      'submissions accepted after the outage',
      () => Promise.resolve(accepted.length >= acceptedBeforeRestart + 3 || undefined),
      60_000,
    );
    submitting = false;
    await load;

    for (const refusal of refusals) {
      expect(refusal.status).toBe(503);
      expect(Number(refusal.retryAfter)).toBeGreaterThan(0);
      expect(refusal.body).toEqual({ error: 'Service Unavailable', message: expect.any(String) });
    }
    for (const id of accepted) {
      const ended = await untilEnded(id, 300_000);
      expect([id, ended.status]).toEqual([id, 'COMPLETED']);
    }
  });
});
