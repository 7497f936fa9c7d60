import { JOB_CANCEL_CHANNEL, JobOperation, JobStatus, QueuedJobData, WEBHOOK_QUEUE } from '@app/common';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { OwnedProcess, freePort, waitFor } from '../../../test/support/processes';
import { Harness, NODE_MAIN, NodeProcess } from './node-harness';

jest.setTimeout(180_000);

/** Probes a URL with ffprobe: the stream types and the duration. */
function probe(url: string): { streams: string[]; duration: number } {
  const json = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', url]);
  const data = JSON.parse(json.toString()) as { streams: { codec_type: string }[]; format: { duration: string } };
  return { streams: data.streams.map((s) => s.codec_type), duration: Number(data.format.duration) };
}

describe('GPU node (real Redis, MinIO, Python worker and FFmpeg)', () => {
  const harness = new Harness();

  beforeAll(() => harness.start());
  afterAll(() => harness.stop());

  const addAudioInput = (folder: string, video = '/video.mp4') => ({
    url_video: harness.media.url(video),
    url_audio: harness.media.url('/audio.wav'),
    path: `${folder}/São Paulo/`,
    output_filename: 'vídeo com áudio.mp4',
  });

  describe('one node', () => {
    let node: NodeProcess;

    beforeAll(async () => {
      node = await harness.startNode('node-one');
    });
    afterAll(() => node?.kill());

    it('reports its capacity in its heartbeat and on its health port', async () => {
      const beat = await waitFor('heartbeat with a ready worker', async () => {
        const current = await harness.heartbeat('node-one');
        return current?.encoder ? current : undefined;
      });
      expect(beat.slots).toBe(1);
      expect(beat.freeSlots).toBe(1);
      expect(beat.draining).toBe(false);
      expect(beat.gpu).toBeNull();
      expect(beat.encoder).toBe('libx264');
      expect(beat.nvenc).toBe(false);
      expect(beat.whisperDevice).toBe('cpu');
      // No GPU here: both auto choices fell back, and the heartbeat and /health say why.
      expect(beat.encoderFallback).toMatch(/^libx264 instead of h264_nvenc: no NVIDIA GPU/);
      expect(beat.whisperFallback).toMatch(/^CPU int8 instead of CUDA: CTranslate2 finds no CUDA device/);
      expect(beat.models).toEqual(expect.arrayContaining(['tiny.en', 'base']));
      expect(Array.isArray(beat.warmModels)).toBe(true);

      const { code, body } = await node.health();
      expect(code).toBe(200);
      expect(body).toMatchObject({ status: 'ok', node: 'node-one', slots: 1, freeSlots: 1, draining: false });
      expect(body).toMatchObject({
        encoder: 'libx264',
        encoderFallback: beat.encoderFallback,
        whisperDevice: 'cpu',
        whisperFallback: beat.whisperFallback,
      });
    });

    it('runs a job: the record gets the output, the node and the times, and a webhook is queued', async () => {
      const folder = `done-${randomUUID()}`;
      const heard = await harness.listenToJobEvents();
      const jobId = await harness.queueAddAudio(addAudioInput(folder), {
        webhookUrl: 'https://hooks.example.com/done',
      });
      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed]);
      heard.stop();

      expect(record.failure).toBeUndefined();
      expect(record.status).toBe(JobStatus.Completed);
      expect(record.node).toBe('node-one');
      expect(record.progress).toBe(100);
      const started = Date.parse(record.startedAt!);
      const ended = Date.parse(record.endedAt!);
      expect(started).toBeGreaterThanOrEqual(Date.parse(record.createdAt));
      expect(ended).toBeGreaterThanOrEqual(started);
      const output = record.output as { video_url: string; filename: string };
      expect(output.filename).toBe('vídeo com áudio.mp4');
      expect(await harness.objectKeys(`${folder}/`)).toEqual([`${folder}/São Paulo/vídeo com áudio.mp4`]);
      const probed = probe(output.video_url);
      expect(probed.streams).toEqual(expect.arrayContaining(['video', 'audio']));
      expect(probed.duration).toBeGreaterThan(1.5);

      // The worker's own progress reached the record, announced with each tick; 100 is set on
      // completion. It is written there alone: the Bull job's progress stays untouched.
      const ticks = heard.events.filter((event) => event.id === jobId && event.status === JobStatus.InProgress && event.progress! > 0);
      expect(ticks.length).toBeGreaterThan(0);
      expect(ticks.every((event) => event.progress! < 100)).toBe(true);
      const bull = await harness.bullState(jobId);
      expect(bull.state).toBe('completed');
      expect(bull.progress).toBe(0);
      const webhook = await harness.queue(WEBHOOK_QUEUE).getJob(jobId);
      expect(webhook?.data).toEqual({ jobId });
    });

    it('advertises in its heartbeat the whisper model a transcription left loaded in its worker', async () => {
      const before = await waitFor('heartbeat with a ready worker', async () => {
        const current = await harness.heartbeat('node-one');
        return current?.encoder ? current : undefined;
      });
      expect(before.warmModels).not.toContain('tiny.en');
      const jobId = await harness.queueJob(JobOperation.Transcribe, {
        audio_url: harness.media.url('/speech.wav'),
        path: `warm-${randomUUID()}/`,
        model: 'tiny.en',
      });
      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed]);
      expect(record.failure).toBeUndefined();
      expect((record.output as { model: string }).model).toBe('tiny.en');

      const after = await waitFor('heartbeat with tiny.en warm', async () => {
        const current = await harness.heartbeat('node-one');
        return current?.warmModels.includes('tiny.en') ? current : undefined;
      });
      expect(after.warmModels).toEqual(['tiny.en']);
      expect(after.models).toEqual(expect.arrayContaining(['tiny.en', 'base']));
    });

    it('fails a job whose input is not a video, without retrying it', async () => {
      const jobId = await harness.queueAddAudio(addAudioInput(`bad-${randomUUID()}`, '/not-a-video.mp4'), {
        attempts: 3,
      });
      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed]);

      expect(record.status).toBe(JobStatus.Failed);
      expect(record.failure).toMatchObject({ error: 'Bad Request', field: 'url_video' });
      expect(record.failure!.message).toContain('url_video');
      expect(record.output).toBeUndefined();
      const bull = await waitFor('Bull job failed', async () => {
        const state = await harness.bullState(jobId);
        return state.state === 'failed' ? state : undefined;
      });
      // Failed once, and moved to Bull's failed set: no other attempt is scheduled.
      expect(bull.attemptsMade).toBe(1);
      expect(harness.media.requestsFor('/not-a-video.mp4')).toBe(1);
    });

    it('retries the job of a worker that dies mid-job, on the worker started in its place', async () => {
      const folder = `crash-${randomUUID()}`;
      const held = '/held/crash/video.mp4';
      harness.media.hold(held);
      const jobId = await harness.queueAddAudio(addAudioInput(folder, held));
      await harness.waitForStatus(jobId, [JobStatus.InProgress]);
      await harness.media.requested(held);
      const [workerPid] = node.workerPids().slice(-1);

      process.kill(workerPid, 'SIGKILL');
      harness.media.release(held);
      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed]);

      expect(record.failure).toBeUndefined();
      expect(record.status).toBe(JobStatus.Completed);
      expect(await harness.objectKeys(`${folder}/`)).toEqual([`${folder}/São Paulo/vídeo com áudio.mp4`]);
      const bull = await harness.bullState(jobId);
      expect(bull.state).toBe('completed');
      expect(bull.attemptsMade).toBe(1);
      expect(node.workerPids().slice(-1)[0]).not.toBe(workerPid);
    });

    it('fails a job whose worker dies on its last attempt, as an internal error', async () => {
      const held = '/held/last-attempt/video.mp4';
      harness.media.hold(held);
      const jobId = await harness.queueAddAudio(addAudioInput(`last-${randomUUID()}`, held), { attempts: 1 });
      await harness.waitForStatus(jobId, [JobStatus.InProgress]);
      await harness.media.requested(held);

      process.kill(node.workerPids().slice(-1)[0], 'SIGKILL');
      harness.media.release(held);
      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed]);

      expect(record.status).toBe(JobStatus.Failed);
      expect(record.failure?.error).toBe('Internal Server Error');
      expect(record.failure?.message).toMatch(/worker died/);
      const bull = await waitFor('Bull job failed', async () => {
        const state = await harness.bullState(jobId);
        return state.state === 'failed' ? state : undefined;
      });
      expect(bull.attemptsMade).toBe(1);
      await waitFor('a new worker ready', async () => ((await node.health()).body.freeSlots === 1 ? true : undefined));
    });

    it('stops a running job when it is cancelled: no result, no object, no temp files', async () => {
      const folder = `cancel-${randomUUID()}`;
      const held = '/held/cancel/video.mp4';
      harness.media.hold(held);
      const jobId = await harness.queueAddAudio(addAudioInput(folder, held));
      await harness.waitForStatus(jobId, [JobStatus.InProgress]);
      await harness.media.requested(held);
      expect((await node.health()).body.freeSlots).toBe(0);

      // What the API's cancel does: the record first, then the word to the nodes.
      expect(await harness.store.finish(jobId, JobStatus.Cancelled, {}, 3_600_000)).toBe('applied');
      await harness.client.publish(JOB_CANCEL_CHANNEL, jobId);

      const bull = await waitFor('Bull job completed', async () => {
        const state = await harness.bullState(jobId);
        return state.state === 'completed' ? state : undefined;
      });
      expect(bull.returnvalue).toEqual({ cancelled: true });
      // The download was cut while the server still held the rest of the file.
      expect(harness.media.abandoned).toContain(held);
      harness.media.release(held);

      const record = await harness.record(jobId);
      expect(record.status).toBe(JobStatus.Cancelled);
      expect(record.output).toBeUndefined();
      expect(await harness.objectKeys(`${folder}/`)).toEqual([]);
      expect(readdirSync(harness.workerTmp).filter((name) => name.includes(jobId))).toEqual([]);
      const health = await waitFor('slot free again', async () => {
        const { body } = await node.health();
        return body.freeSlots === 1 ? body : undefined;
      });
      expect(health.status).toBe('ok');
    });

    it('lets the job that follows a cancel run on the same worker, past the cancel-confirm deadline', async () => {
      harness.media.hold('/held/first/video.mp4');
      const cancelled = await harness.queueAddAudio(addAudioInput(`cancel-${randomUUID()}`, '/held/first/video.mp4'));
      await harness.waitForStatus(cancelled, [JobStatus.InProgress]);
      await harness.store.finish(cancelled, JobStatus.Cancelled, {}, 3_600_000);
      await harness.client.publish(JOB_CANCEL_CHANNEL, cancelled);
      harness.media.release('/held/first/video.mp4');

      const next = '/held/next/video.mp4';
      harness.media.hold(next);
      const jobId = await harness.queueAddAudio(addAudioInput(`next-${randomUUID()}`, next));
      await harness.media.requested(next);
      // Hold the next job past the moment the node checks whether the cancelled one was confirmed.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      harness.media.release(next);

      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed]);
      expect(record.status).toBe(JobStatus.Completed);
      expect((await harness.bullState(jobId)).attemptsMade).toBe(0);
    });
  });

  it('shares its slots between the queues and fetches nothing while they are all busy', async () => {
    const node = await harness.startNode('node-two-slots', { NODE_CONCURRENCY: '2' });
    const held = ['/held/slot-a/video.mp4', '/held/slot-b/video.mp4'];
    const running: string[] = [];
    for (const path of held) {
      harness.media.hold(path);
      running.push(await harness.queueAddAudio(addAudioInput(`slots-${randomUUID()}`, path)));
    }
    for (const [index, jobId] of running.entries()) {
      expect((await harness.waitForStatus(jobId, [JobStatus.InProgress])).node).toBe('node-two-slots');
      await harness.media.requested(held[index]);
    }
    const busy = await waitFor('both slots busy', async () => {
      const current = await harness.heartbeat('node-two-slots');
      return current?.slots === 2 && current.freeSlots === 0 ? current : undefined;
    });
    const afterBusy = async (beats: number, since: string) =>
      waitFor(`${beats} heartbeats`, async () => {
        const current = await harness.heartbeat('node-two-slots');
        const passed = current && Date.parse(current.lastSeenAt) - Date.parse(since) >= beats * 300;
        return passed ? current : undefined;
      });
    const settled = await afterBusy(2, busy.lastSeenAt);

    // Another queue: its Bull loops are idle, so only the local pause keeps them from fetching.
    const caption = await harness.queueJob(JobOperation.Caption, {
      url_video: harness.media.url('/video.mp4'),
      url_srt: harness.media.url('/legenda.srt'),
      path: `slots-${randomUUID()}/legendas/`,
      output_filename: 'vídeo legendado.mp4',
    });
    await afterBusy(2, settled.lastSeenAt);
    expect((await harness.bullState(caption, 'caption')).state).toBe('waiting');
    expect((await harness.record(caption)).status).toBe(JobStatus.InQueue);

    for (const path of held) harness.media.release(path);
    for (const jobId of [...running, caption]) {
      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed]);
      expect(record.failure).toBeUndefined();
      expect(record.node).toBe('node-two-slots');
    }
    const output = (await harness.record(caption)).output as { video_url: string };
    expect(probe(output.video_url).streams).toContain('video');
    await node.kill();
  });

  it('answers 503 and takes no job while no worker can start', async () => {
    const port = await freePort();
    const broken = new OwnedProcess('node', [NODE_MAIN], {
      ...harness.nodeEnv('node-broken', port),
      WORKER_PYTHON: '/bin/false',
    }).start();
    try {
      const jobId = await harness.queueAddAudio(addAudioInput(`broken-${randomUUID()}`));
      await waitFor('two failed worker starts', () =>
        Promise.resolve((broken.output.match(/worker 0 .*exited/g) ?? []).length >= 2 || undefined),
      );
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: 'unavailable', readyWorkers: 0, freeSlots: 0 });
      const beat = await harness.heartbeat('node-broken');
      expect(beat).toMatchObject({ slots: 1, freeSlots: 0, encoder: null });
      expect((await harness.bullState(jobId)).state).toBe('waiting');
      expect((await harness.record(jobId)).status).toBe(JobStatus.InQueue);
      await harness.queue('addaudio').removeJobs(jobId);
    } finally {
      await broken.stop();
    }
  });

  it('gives the job of a node killed with SIGKILL to another node, which completes it', async () => {
    const folder = `killed-${randomUUID()}`;
    const doomed = await harness.startNode('node-doomed');
    const held = '/held/killed/video.mp4';
    harness.media.hold(held);
    const jobId = await harness.queueAddAudio(addAudioInput(folder, held));
    const running = await harness.waitForStatus(jobId, [JobStatus.InProgress]);
    expect(running.node).toBe('node-doomed');
    await harness.media.requested(held);
    const beat = await harness.heartbeat('node-doomed');

    const survivor = await harness.startNode('node-survivor');
    doomed.signal('SIGKILL', beat!.pid);
    expect(await doomed.exitCode(10_000)).toBeNull();
    await doomed.kill();
    harness.media.release(held);

    const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed], 90_000);
    expect(record.failure).toBeUndefined();
    expect(record.status).toBe(JobStatus.Completed);
    expect(record.node).toBe('node-survivor');
    expect(await harness.objectKeys(`${folder}/`)).toEqual([`${folder}/São Paulo/vídeo com áudio.mp4`]);
    expect((await harness.bullState(jobId)).state).toBe('completed');
    await survivor.kill();
  });

  it('completes a job whose node is SIGKILLed twice, on the third node (JOB_MAX_ATTEMPTS 3)', async () => {
    const folder = `killed-twice-${randomUUID()}`;
    const held = '/held/killed-twice/video.mp4';
    harness.media.hold(held);
    const jobId = await harness.queueAddAudio(addAudioInput(folder, held));
    for (const [round, nodeId] of ['node-doomed-1', 'node-doomed-2'].entries()) {
      const doomed = await harness.startNode(nodeId);
      const running = await harness.waitForStatus(jobId, [JobStatus.InProgress], 90_000);
      await waitFor(`job ${jobId} on ${nodeId}`, async () => ((await harness.record(jobId)).node === nodeId || undefined), 90_000);
      expect(running.status).toBe(JobStatus.InProgress);
      await waitFor(`download ${round + 1} of the held video`, () => Promise.resolve(harness.media.requestsFor(held) > round || undefined));
      const beat = await harness.heartbeat(nodeId);
      doomed.signal('SIGKILL', beat!.pid);
      expect(await doomed.exitCode(10_000)).toBeNull();
      await doomed.kill();
    }
    const survivor = await harness.startNode('node-third');
    await waitFor(`job ${jobId} on node-third`, async () => ((await harness.record(jobId)).node === 'node-third' || undefined), 90_000);
    harness.media.release(held);

    const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed], 90_000);
    expect(record.failure).toBeUndefined();
    expect(record.status).toBe(JobStatus.Completed);
    expect(record.node).toBe('node-third');
    expect(harness.media.requestsFor(held)).toBeGreaterThanOrEqual(3);
    expect((await harness.bullState(jobId)).state).toBe('completed');
    await survivor.kill();
  });

  it('on SIGTERM takes no new job, finishes the running one, then exits', async () => {
    const node = await harness.startNode('node-draining');
    const held = '/held/drain/video.mp4';
    harness.media.hold(held);
    const running = await harness.queueAddAudio(addAudioInput(`drain-${randomUUID()}`, held));
    await harness.waitForStatus(running, [JobStatus.InProgress]);
    await harness.media.requested(held);
    const beat = await harness.heartbeat('node-draining');

    node.signal('SIGTERM', beat!.pid);
    const draining = await waitFor('health 503 draining', async () => {
      const health = await node.health();
      return health.code === 503 ? health.body : undefined;
    });
    expect(draining).toMatchObject({ status: 'draining', draining: true });
    const drainingBeat = await waitFor('heartbeat draining', async () => {
      const current = await harness.heartbeat('node-draining');
      return current?.draining ? current : undefined;
    });
    expect(drainingBeat.freeSlots).toBe(0);
    const queuedWhileDraining = await harness.queueAddAudio(addAudioInput(`late-${randomUUID()}`));
    expect(node.running).toBe(true);

    harness.media.release(held);
    expect(await node.exitCode(60_000)).toBe(0);
    const finished = await harness.record(running);
    expect(finished.status).toBe(JobStatus.Completed);
    expect(finished.node).toBe('node-draining');
    expect((await harness.record(queuedWhileDraining)).status).toBe(JobStatus.InQueue);
    expect((await harness.bullState(queuedWhileDraining)).state).toBe('waiting');
    expect(await harness.heartbeat('node-draining')).toBeNull();
  });

  it('gives back to the queue a job still running when the grace period ends', async () => {
    const folder = `grace-${randomUUID()}`;
    const node = await harness.startNode('node-impatient', { SHUTDOWN_GRACE_S: '1' });
    const held = '/held/grace/video.mp4';
    harness.media.hold(held);
    const jobId = await harness.queueAddAudio(addAudioInput(folder, held));
    await harness.waitForStatus(jobId, [JobStatus.InProgress]);
    await harness.media.requested(held);
    const beat = await harness.heartbeat('node-impatient');

    node.signal('SIGTERM', beat!.pid);
    expect(await node.exitCode(60_000)).toBe(0);
    const handedBack = await harness.record(jobId);
    expect(handedBack.status).toBe(JobStatus.InQueue);
    expect(readdirSync(harness.workerTmp).filter((name) => name.includes(jobId))).toEqual([]);

    harness.media.release(held);
    const other = await harness.startNode('node-patient');
    const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed], 90_000);
    expect(record.failure).toBeUndefined();
    expect(record.status).toBe(JobStatus.Completed);
    expect(record.node).toBe('node-patient');
    expect((await harness.bullState(jobId)).attemptsMade).toBe(0);
    await other.kill();
  });

  it('runs a transcription on the node that has its model loaded; the other takes it when that node is busy', async () => {
    const transcription = (tag: string, audio = '/speech.wav') =>
      harness.queueJob(JobOperation.Transcribe, { audio_url: harness.media.url(audio), path: `${tag}-${randomUUID()}/`, model: 'tiny.en' });
    const ranOn = async (jobId: string) => {
      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed]);
      expect(record.failure).toBeUndefined();
      return record.node;
    };
    const bullJob = async (jobId: string) => {
      const job = (await harness.queue('transcribe').getJob(jobId))!;
      return { attemptsMade: job.attemptsMade, declines: (job.data as QueuedJobData).warmDeclines ?? 0 };
    };

    const warm = await harness.startNode('node-warm');
    expect(await ranOn(await transcription('warm-up'))).toBe('node-warm');
    await waitFor('node-warm advertising tiny.en warm', async () =>
      (await harness.heartbeat('node-warm'))?.warmModels.includes('tiny.en') ? true : undefined,
    );
    const cold = await harness.startNode('node-cold');
    await waitFor('node-cold ready', async () => ((await harness.heartbeat('node-cold'))?.freeSlots === 1 ? true : undefined));

    // One at a time: each is submitted while both nodes are idle, so only the warm model decides.
    const preferred: string[] = [];
    const nodes = [];
    for (let index = 0; index < 3; index += 1) {
      preferred.push(await transcription('preferred'));
      nodes.push(await ranOn(preferred[index]));
      await waitFor('node-warm idle', async () => ((await harness.heartbeat('node-warm'))?.freeSlots === 1 ? true : undefined));
    }
    expect(nodes).toEqual(['node-warm', 'node-warm', 'node-warm']);
    const jobs = await Promise.all(preferred.map(bullJob));
    expect(jobs.map((job) => job.attemptsMade)).toEqual([0, 0, 0]);
    expect(jobs.reduce((sum, job) => sum + job.declines, 0)).toBeGreaterThanOrEqual(1);
    expect(cold.output).toContain('left to node node-warm, which has its whisper model loaded');
    expect((await harness.heartbeat('node-cold'))?.warmModels).toEqual([]);

    const held = '/held/busy/speech.wav';
    harness.media.hold(held);
    const busy = await transcription('busy', held);
    expect((await harness.waitForStatus(busy, [JobStatus.InProgress])).node).toBe('node-warm');
    await harness.media.requested(held);
    await waitFor('node-warm busy', async () => ((await harness.heartbeat('node-warm'))?.freeSlots === 0 ? true : undefined));
    const overflow = await transcription('overflow');
    expect(await ranOn(overflow)).toBe('node-cold');
    expect((await bullJob(overflow)).declines).toBe(0);
    harness.media.release(held);
    expect(await ranOn(busy)).toBe('node-warm');
    expect(`${warm.output}${cold.output}`).not.toMatch(/Missing lock|not in the active state/);
    await Promise.all([warm.kill(), cold.kill()]);
  });
});
