import { JobStore } from '@app/common';
import type Redis from 'ioredis';
import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe, downloadText, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { parseEnhancedLrc, parseVtt } from '../../../test/support/subtitle-checks';
import { FakeRunPod } from '../../../test/support/fake-runpod/fake-runpod';

jest.setTimeout(300_000);

// Bodies are checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const ENDED = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

/**
 * Jobs through the RunPod executor: API process -> RunPodExecutor -> the RunPod stand-in (RunPod's
 * v2 API) -> the real Python handler in a process of its own -> the test MinIO. Redis is real.
 */
describe('RunPod executor (API, Redis, RunPod stand-in, real worker, MinIO)', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let client: Redis;
  let store: JobStore;
  let runpod: FakeRunPod;
  let media: TestMedia;

  const startApi = (env: NodeJS.ProcessEnv) => deployment.startApi(env);
  const untilEnded = (api: ApiUnderTest, id: string) =>
    waitFor(
      `job ${id} ended`,
      async () => {
        const { body } = await api.call<Body>('GET', `/job/${id}`);
        return ENDED.includes(body.status) ? body : undefined;
      },
      240_000,
    );
  const remoteIdOf = async (id: string) => waitFor(`job ${id} on RunPod`, async () => (await store.get(id))?.remoteId);
  /** Whether a RunPod dispatcher still holds the addaudio job `id` (Bull's active list of its queue). */
  const dispatching = async (id: string) => (await client.lrange('bull:runpod-addaudio:active', 0, -1)).includes(id);

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-runpod',
      persistentRedis: true,
      media: ['video.mp4', 'legendas.srt', 'audio.mp3', 'image.jpg', 'speech.wav'],
      runpod: { stockEndpoints: ['whisper-stock'] },
      env: { SYNC_TIMEOUT_S: '240', RUNPOD_EXECUTION_TIMEOUT: '120' },
      api: false,
    });
    ({ client, store, runpod, media } = deployment);
  }, 300_000);

  afterAll(() => deployment?.stop());

  // Every API process with RunPod configured dispatches every RunPod job queued in its Redis, so
  // each API started with other RunPod settings below runs alone.
  describe('EXECUTOR_MODE=runpod', () => {
    let api: ApiUnderTest;
    beforeAll(async () => {
      api = await startApi({ EXECUTOR_MODE: 'runpod' });
    });
    afterAll(async () => {
      await api.stop();
    });

    it('runs addaudio on RunPod: the output is in MinIO, stats are RunPod delayTime/executionTime, no secret in the input', async () => {
      const out = `${media.prefix}runpod/addaudio/`;
      const { status, body } = await api.call<Body>('POST', '/video/addaudio', {
        body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: out, output_filename: 'com áudio.mp4' },
      });
      expect(status).toBe(200);
      expect(body.executor).toBe('runpod');
      expect(body.executor_reason).toBe('mode_runpod');
      const record = await store.get(body.jobId);
      const remote = await runpod.job(record?.remoteId as string);
      expect(remote.status).toBe('COMPLETED');
      expect(remote.endpoint).toBe('api-gpu-worker');
      expect(remote.executionTimeoutMs).toBe(120_000);
      expect(remote.ttlMs).toBeGreaterThan(0);
      expect(remote.input).toEqual({
        operation: 'addaudio',
        url_video: media.urls['video.mp4'],
        url_audio: media.urls['audio.mp3'],
        path: out,
        output_filename: 'com áudio.mp4',
        deadline_s: record?.deadlineS,
      });
      expect(record?.deadlineS).toBeGreaterThan(0);
      expect(JSON.stringify(remote.input)).not.toContain(s3.secretKey);
      expect(body.stats.delayTime).toBe(remote.delayTime);
      expect(body.stats.executionTime).toBe(remote.executionTime);
      expect(body.video_url).toBe(media.publicUrl(`${out}com áudio.mp4`));
      const probe = await downloadAndProbe(body.video_url);
      expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      const statusBody = (await api.call<Body>('GET', `/job/${body.jobId}`)).body;
      expect(statusBody).toMatchObject({ status: 'COMPLETED', executor: 'runpod', executor_reason: 'mode_runpod' });
    });

    it('runs caption, img2vid and transcribe on RunPod through the project worker', async () => {
      const out = `${media.prefix}runpod/ops/`;
      const caption = api.call<Body>('POST', '/video/caption', {
        body: { url_video: media.urls['video.mp4'], url_srt: media.urls['legendas.srt'], path: out, output_filename: 'legendado.mp4' },
      });
      const img2vid = api.call<Body>('POST', '/video/img2vid', {
        body: { images: [{ id: 'capa', image_url: media.urls['image.jpg'], duracao: 1 }], path: `${out}img/` },
      });
      const transcribe = api.call<Body>('POST', '/transcribe', {
        body: { audio_url: media.urls['speech.wav'], path: `${out}fala/`, model: 'tiny.en', language: 'en' },
      });
      const [c, i, t] = await Promise.all([caption, img2vid, transcribe]);
      expect([c.status, i.status, t.status]).toEqual([200, 200, 200]);
      for (const reply of [c, i, t]) expect(reply.body.executor).toBe('runpod');
      expect((await downloadAndProbe(c.body.video_url)).streams.some((s) => s.codec_type === 'video')).toBe(true);
      expect(i.body.videos).toHaveLength(1);
      expect(i.body.videos[0].id).toBe('capa');
      expect((await downloadAndProbe(i.body.videos[0].video_url)).streams[0].codec_type).toBe('video');
      expect(String(t.body.transcription).toLowerCase()).toContain('hello');
      expect(await downloadText(t.body.files.segments.srt)).toMatch(/^1\n00:00:0/);
    });

    it('a failed job on RunPod reports the worker error with its field, as a 400', async () => {
      const { status, body } = await api.call<Body>('POST', '/video/addaudio', {
        body: { url_video: media.urls['audio.mp3'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/bad/`, output_filename: 'x.mp4' },
      });
      expect(status).toBe(400);
      expect(body.error).toBe('Bad Request');
      expect(body.field).toBe('url_video');
      expect(body.executor).toBe('runpod');
    });

    it('polls with growing gaps while a job waits in a slow queue, and reads IN_QUEUE meanwhile', async () => {
      await runpod.settings({ queue_delay_s: 16 });
      try {
        const { body } = await api.call<Body>('POST', '/video/addaudio', {
          body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/slow/`, output_filename: 'slow.mp4', async: true },
        });
        const remoteId = await remoteIdOf(body.jobId);
        expect((await api.call<Body>('GET', `/job/${body.jobId}`)).body.status).toBe('IN_QUEUE');
        const ended = await untilEnded(api, body.jobId);
        expect(ended.status).toBe('COMPLETED');
        const polls = (await runpod.calls()).filter((call) => call.route === 'status' && call.path.includes(remoteId));
        const gaps = polls.slice(1).map((call, index) => call.at - polls[index].at);
        expect(gaps.length).toBeGreaterThanOrEqual(4);
        // 2 s, then x1.5 each time up to 8 s: each gap at least 1.4 times the one before, or at the cap.
        for (let index = 1; index < gaps.length; index++) {
          expect(gaps[index]).toBeGreaterThanOrEqual(Math.min(gaps[index - 1] * 1.4, 7.9));
        }
        expect(gaps[0]).toBeGreaterThanOrEqual(2.9);
      } finally {
        await runpod.settings({ queue_delay_s: 0 });
      }
    });

    it('retries 429 on /run and 5xx on /status, and the job completes', async () => {
      const before = (await runpod.calls()).length;
      await runpod.fault(429, 2, ['run']);
      await runpod.fault(503, 2, ['status']);
      const { status, body } = await api.call<Body>('POST', '/video/addaudio', {
        body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/retry/`, output_filename: 'retry.mp4' },
      });
      expect(status).toBe(200);
      expect(body.executor).toBe('runpod');
      const calls = (await runpod.calls()).slice(before);
      expect(calls.filter((call) => call.route === 'run')).toHaveLength(3);
      expect(calls.filter((call) => call.route === 'status').length).toBeGreaterThanOrEqual(3);
    });

    it('a client cancel of a queued RunPod job sends RunPod /cancel', async () => {
      await runpod.settings({ queue_delay_s: 60 });
      try {
        const { body } = await api.call<Body>('POST', '/video/addaudio', {
          body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/cancel/`, output_filename: 'c.mp4', async: true },
        });
        const remoteId = await remoteIdOf(body.jobId);
        const cancel = await api.call<Body>('POST', `/job/${body.jobId}/cancel`);
        expect(cancel.status).toBe(200);
        const remote = await runpod.job(remoteId);
        expect(remote.cancelRequested).toBe(true);
        expect(remote.status).toBe('CANCELLED');
        expect((await api.call<Body>('GET', `/job/${body.jobId}`)).body.status).toBe('CANCELLED');
      } finally {
        await runpod.settings({ queue_delay_s: 0 });
      }
    });

    it('a job whose record is gone (expired, removed) is cancelled on RunPod', async () => {
      await runpod.settings({ queue_delay_s: 60 });
      try {
        const { body } = await api.call<Body>('POST', '/video/addaudio', {
          body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/gone/`, output_filename: 'g.mp4', async: true },
        });
        const remoteId = await remoteIdOf(body.jobId);
        await store.remove(body.jobId);
        const remote = await waitFor('RunPod cancel', async () => {
          const job = await runpod.job(remoteId);
          return job.cancelRequested ? job : undefined;
        });
        expect(remote.status).toBe('CANCELLED');
        await waitFor('the dispatcher to let the job go', async () => !(await dispatching(body.jobId)) || undefined);
      } finally {
        await runpod.settings({ queue_delay_s: 0 });
      }
    });

    it('resumes polling after an API restart and the job completes', async () => {
      await runpod.settings({ queue_delay_s: 6 });
      try {
        const { body } = await api.call<Body>('POST', '/video/addaudio', {
          body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/restart/`, output_filename: 'r.mp4', async: true },
        });
        await remoteIdOf(body.jobId);
        await api.stop();
        expect((await store.get(body.jobId))?.status).toBe('IN_QUEUE');
        await api.start();
        const ended = await untilEnded(api, body.jobId);
        expect(ended.status).toBe('COMPLETED');
        expect(ended.executor).toBe('runpod');
        expect(await dispatching(body.jobId)).toBe(false);
      } finally {
        await runpod.settings({ queue_delay_s: 0 });
      }
    });

    it('a job survives the SIGKILL of the process dispatching it: another resumes polling and it completes, submitted once', async () => {
      await runpod.settings({ queue_delay_s: 6 });
      try {
        const before = (await runpod.calls()).length;
        const { body } = await api.call<Body>('POST', '/video/addaudio', {
          body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/killed/`, output_filename: 'k.mp4', async: true },
        });
        const remoteId = await remoteIdOf(body.jobId);
        expect(await dispatching(body.jobId)).toBe(true);
        await api.stop('SIGKILL');
        expect((await store.get(body.jobId))?.status).toBe('IN_QUEUE');
        await api.start();
        const ended = await untilEnded(api, body.jobId);
        expect(ended.status).toBe('COMPLETED');
        expect((await runpod.job(remoteId)).status).toBe('COMPLETED');
        expect((await runpod.calls()).slice(before).filter((call) => call.route === 'run')).toHaveLength(1);
      } finally {
        await runpod.settings({ queue_delay_s: 0 });
      }
    });

    it('GET /runpod/health reports RunPod /health and /runpod/config masks the key', async () => {
      const health = await api.call<Body>('GET', '/runpod/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'healthy', endpoint: 'RunPod Serverless', configured: true });
      expect(health.body.workers).toMatchObject({ idle: expect.any(Number), running: expect.any(Number) });
      expect(health.body.jobs.completed).toBeGreaterThanOrEqual(1);
      expect(health.body.jobs).toHaveProperty('inQueue');
      const config = await api.call<Body>('GET', '/runpod/config');
      expect(config.body).toMatchObject({ endpointId: 'api-gpu-worker', maxTimeout: 120, executorMode: 'runpod' });
      expect(config.text).not.toContain(runpod.apiKey);
      expect(config.body.apiKey).toMatch(/\*{4}/);
    });
  });

  it('our deadline (RUNPOD_MAX_WAIT_S) times the job out and sends RunPod /cancel', async () => {
    const api = await startApi({ EXECUTOR_MODE: 'runpod', RUNPOD_MAX_WAIT_S: '3' });
    await runpod.settings({ queue_delay_s: 60 });
    try {
      const { body } = await api.call<Body>('POST', '/video/addaudio', {
        body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/deadline/`, output_filename: 'd.mp4', async: true },
      });
      const remoteId = await remoteIdOf(body.jobId);
      const ended = await untilEnded(api, body.jobId);
      expect(ended.status).toBe('TIMED_OUT');
      expect(ended.error).toContain('RUNPOD_MAX_WAIT_S');
      const remote = await waitFor('RunPod cancel', async () => {
        const job = await runpod.job(remoteId);
        return job.cancelRequested ? job : undefined;
      });
      expect(remote.status).toBe('CANCELLED');
    } finally {
      await runpod.settings({ queue_delay_s: 0 });
      await api.stop();
    }
  });

  it('RUNPOD_WHISPER_WORKER=stock: speaks the stock worker-faster_whisper and builds the files in the API', async () => {
    const api = await startApi({ EXECUTOR_MODE: 'runpod', RUNPOD_WHISPER_ENDPOINT_ID: 'whisper-stock', RUNPOD_WHISPER_WORKER: 'stock' });
    try {
      const out = `${media.prefix}runpod/stock/`;
      const { status, body } = await api.call<Body>('POST', '/transcribe', {
        body: { audio_url: media.urls['speech.wav'], path: out, model: 'tiny.en', language: 'en' },
      });
      expect(status).toBe(200);
      expect(body.executor).toBe('runpod');
      const remote = await runpod.job((await store.get(body.job_id))?.remoteId as string);
      expect(remote.endpoint).toBe('whisper-stock');
      expect(remote.input).toMatchObject({ audio: media.urls['speech.wav'], model: 'tiny.en', word_timestamps: true, language: 'en' });
      expect(remote.input).not.toHaveProperty('operation');
      expect(String(body.transcription).toLowerCase()).toContain('hello');
      expect(body.files.segments.srt).toBe(media.publicUrl(`${out}segments.srt`));
      const srt = await downloadText(body.files.segments.srt);
      expect(srt).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> /);
      const words = JSON.parse(await downloadText(body.files.words.json)) as { words: { word: string }[] };
      expect(words.words.length).toBe(body.stats.words);
      expect(words.words.map((w) => w.word.toLowerCase()).join(' ')).toContain('hello');
      const ass = await downloadText(body.files.words.ass_karaoke);
      expect(ass).toContain('Dialogue: 0,');
      expect(ass).toMatch(/\{\\k\d+\}/);
      expect(body.files.segments.vtt).toBe(media.publicUrl(`${out}segments.vtt`));
      const segmentCues = parseVtt(await downloadText(body.files.segments.vtt));
      expect(segmentCues).toHaveLength(body.stats.segments);
      const karaokeCues = parseVtt(await downloadText(body.files.words.vtt_karaoke));
      expect(karaokeCues.map((cue) => cue.text).join(' ')).toBe(words.words.map((w) => w.word.trim()).join(' '));
      const lyrics = parseEnhancedLrc(await downloadText(body.files.words.lrc));
      expect(lyrics.flatMap((line) => line.marksMs)).toHaveLength(body.stats.words);
      expect(remote.input).toMatchObject({ translate: false, initial_prompt: null });
    } finally {
      await api.stop();
    }
  });

  it('GET /transcribe/health reports the RunPod whisper endpoint when transcriptions run there', async () => {
    const onRunPod = await startApi({ EXECUTOR_MODE: 'runpod', RUNPOD_WHISPER_ENDPOINT_ID: 'whisper-endpoint' });
    const hybrid = await startApi({ EXECUTOR_MODE: 'hybrid' });
    const down = await startApi({ EXECUTOR_MODE: 'runpod', RUNPOD_API_BASE: 'http://127.0.0.1:9/v2', RUNPOD_HTTP_TIMEOUT_S: '1' });
    try {
      const shape = { status: 'healthy', service: 'transcription', timestamp: expect.any(String) };
      const runpodOnly = await onRunPod.call<Body>('GET', '/transcribe/health', { key: null });
      expect([runpodOnly.status, runpodOnly.body]).toEqual([
        200,
        { ...shape, whisper: { healthy: true, message: expect.stringMatching(/^RunPod Whisper endpoint whisper-endpoint is healthy: \{"jobs":/) } },
      ]);
      // Hybrid with no node alive: transcriptions burst to RunPod, so its endpoint is what counts.
      const noNode = await hybrid.call<Body>('GET', '/transcribe/health', { key: null });
      expect([noNode.status, noNode.body.whisper.message]).toEqual([200, expect.stringContaining('RunPod Whisper endpoint api-gpu-worker is healthy')]);
      const unreachable = await down.call<Body>('GET', '/transcribe/health', { key: null });
      expect([unreachable.status, unreachable.body.status, unreachable.body.whisper.healthy]).toEqual([503, 'unhealthy', false]);
    } finally {
      await onRunPod.stop();
      await hybrid.stop();
      await down.stop();
    }
  });

  it('hybrid with no live node bursts to RunPod; RunPod down fails over to local; runpod asked without RunPod is a 400', async () => {
    const job = { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}runpod/hybrid/`, output_filename: 'h.mp4' };
    const hybrid = await startApi({ EXECUTOR_MODE: 'hybrid' });
    try {
      const burst = await hybrid.call<Body>('POST', '/video/addaudio', { body: job });
      expect(burst.status).toBe(200);
      expect(burst.body).toMatchObject({ executor: 'runpod', executor_reason: 'hybrid_no_live_node' });
    } finally {
      await hybrid.stop();
    }
    const down = await startApi({ EXECUTOR_MODE: 'runpod', RUNPOD_API_BASE: 'http://127.0.0.1:9/v2', RUNPOD_HTTP_TIMEOUT_S: '1' });
    const localOnly = await startApi({ RUNPOD_API_KEY: '', RUNPOD_ENDPOINT_ID: '' });
    try {
      const failover = await down.call<Body>('POST', '/video/addaudio', { body: { ...job, async: true } });
      expect(failover.status).toBe(202);
      // The RunPod dispatcher finds RunPod down (after its retries) and hands the job to the local
      // queue: the record says so first, and the Bull job follows a moment later.
      const moved = await waitFor('the failover to local', async () => {
        const { body } = await down.call<Body>('GET', `/job/${failover.body.jobId}`);
        const queued = (await client.exists(`bull:addaudio:${failover.body.jobId}`)) === 1;
        return body.executor === 'local' && queued ? body : undefined;
      });
      expect(moved).toMatchObject({ status: 'IN_QUEUE', executor: 'local', executor_reason: 'failover_runpod_refused' });
      await down.call('POST', `/job/${failover.body.jobId}/cancel`);

      const refused = await localOnly.call<Body>('POST', '/video/addaudio', { body: { ...job, executor: 'runpod' } });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'Bad Request', field: 'executor' });
      expect(refused.body.message).toContain('executor');
      const local = await localOnly.call<Body>('POST', '/video/addaudio', { body: { ...job, executor: 'local', async: true } });
      expect((await localOnly.call<Body>('GET', `/job/${local.body.jobId}`)).body).toMatchObject({ executor: 'local', executor_reason: 'requested' });
      await localOnly.call('POST', `/job/${local.body.jobId}/cancel`);
    } finally {
      await down.stop();
      await localOnly.stop();
    }
  });
});
