import { JobEnder, JobOperation, JobRecord, JobStatus, JobStore, QueuedJobData } from '@app/common';
import { ConfigService } from '@nestjs/config';
import type { Job, Queue } from 'bull';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { NodeState } from '../lifecycle/node-state.service';
import { WorkerPool, WorkerSlot } from '../worker/worker-pool.service';
import { JobOutcome } from '../worker/worker-protocol';
import { JobDeadlines } from './job-deadlines.service';
import { JobProcessor, ProcessedJob } from './job-processor.service';
import { WarmPreference } from './warm-preference.service';

const input = { url_video: 'http://x/v.mp4', url_audio: 'http://x/a.mp3', path: 'Projeto/', output_filename: 'saída.mp4' };
const queued = (update: Partial<JobRecord> = {}): JobRecord => ({
  id: 'job-1',
  operation: JobOperation.AddAudio,
  status: JobStatus.InQueue,
  input,
  executor: 'local',
  progress: 0,
  createdAt: new Date().toISOString(),
  ...update,
});

/** The processor with one worker slot whose worker answers `outcome`, over stand-ins for Redis and Bull. */
function setUp(stored: JobRecord | null, outcome: JobOutcome, attemptsMade = 0) {
  const store = {
    get: jest.fn().mockResolvedValue(stored),
    updateActive: jest.fn().mockResolvedValue('applied'),
  };
  const ender = { end: jest.fn().mockResolvedValue('applied') };
  const worker = { run: jest.fn().mockResolvedValue(outcome), cancel: jest.fn(), isRunning: () => false, kill: jest.fn() };
  const slot = { index: 0, worker } as unknown as WorkerSlot;
  const pool = { acquire: jest.fn().mockResolvedValue(slot), release: jest.fn(), freeSlots: 1, onChange: jest.fn() };
  const config = { get: () => 1 } as unknown as ConfigService<GpuNodeEnv, true>;
  const processor = new JobProcessor(
    [],
    config,
    store as unknown as JobStore,
    ender as unknown as JobEnder,
    pool as unknown as WorkerPool,
    { nodeId: 'node-a', draining: false, onDraining: jest.fn() } as unknown as NodeState,
    { warmerNode: jest.fn().mockResolvedValue(null) } as unknown as WarmPreference,
    new JobDeadlines(config),
  );
  const discard = jest.fn().mockResolvedValue(undefined);
  const job = { data: { jobId: 'job-1' }, opts: { attempts: 3 }, attemptsMade, discard, progress: jest.fn().mockResolvedValue(undefined) };
  const run = () =>
    (processor as unknown as { process(queue: Queue, job: Job<QueuedJobData>): Promise<ProcessedJob> }).process(
      { name: 'addaudio' } as Queue,
      job as unknown as Job<QueuedJobData>,
    );
  return { run, store, ender, worker, pool, discard, job };
}

describe('JobProcessor: one job on a node', () => {
  it('runs the job on its worker and ends it completed through JobEnder, releasing the slot', async () => {
    const output = { video_url: 'http://s3/Projeto/sa%C3%ADda.mp4' };
    const { run, store, ender, worker, pool } = setUp(queued(), { kind: 'result', output });
    await expect(run()).resolves.toEqual({ status: JobStatus.Completed });
    expect(store.updateActive).toHaveBeenCalledWith('job-1', expect.objectContaining({ status: JobStatus.InProgress, node: 'node-a', progress: 0 }));
    expect(worker.run).toHaveBeenCalledWith('job-1', { operation: 'addaudio', ...input }, expect.any(Function), expect.any(Number));
    expect(ender.end).toHaveBeenCalledWith(expect.objectContaining({ id: 'job-1' }), JobStatus.Completed, { output, progress: 100 });
    expect(pool.release).toHaveBeenCalled();
  });

  it("writes the worker's progress once per tick, to the record alone, rising and below 100", async () => {
    const { run, store, worker, job } = setUp(queued(), { kind: 'result', output: {} });
    worker.run.mockImplementation((_id: string, _input: unknown, onProgress: (percent: number) => void) => {
      onProgress(12.34);
      return Promise.resolve({ kind: 'result', output: {} });
    });
    await run();
    const progressWrites = store.updateActive.mock.calls.filter(([, update]) => 'progress' in update && !('status' in update));
    expect(progressWrites).toEqual([['job-1', { progress: 12.3 }]]);
    expect(job.progress).not.toHaveBeenCalled();
  });

  it('skips a job whose record is gone or already ended, without running it', async () => {
    for (const stored of [null, queued({ status: JobStatus.Cancelled })]) {
      const { run, worker, ender } = setUp(stored, { kind: 'result', output: {} });
      await expect(run()).resolves.toMatchObject({ skipped: expect.any(String) });
      expect(worker.run).not.toHaveBeenCalled();
      expect(ender.end).not.toHaveBeenCalled();
    }
  });

  it('fails a job the worker refused for its input at once, naming the field, and tells Bull not to retry', async () => {
    const error = { code: 'invalid_media', message: 'url_video: the file is not a video', field: 'url_video', retryable: false };
    const { run, ender, discard } = setUp(queued(), { kind: 'error', error });
    await expect(run()).rejects.toThrow('invalid_media');
    expect(ender.end).toHaveBeenCalledWith(expect.objectContaining({ id: 'job-1' }), JobStatus.Failed, {
      failure: { error: 'Bad Request', message: 'url_video: the file is not a video', field: 'url_video', code: 'invalid_media' },
    });
    expect(discard).toHaveBeenCalled();
  });

  it('gives a retryable failure back to the queue while attempts are left, and ends the job on the last one', async () => {
    const error = { code: 'processing_failed', message: 'video_url: the output has no duration', retryable: true };
    const early = setUp(queued(), { kind: 'error', error }, 0);
    await expect(early.run()).rejects.toThrow('processing_failed');
    expect(early.store.updateActive).toHaveBeenLastCalledWith('job-1', { status: JobStatus.InQueue, progress: 0 });
    expect(early.ender.end).not.toHaveBeenCalled();

    const last = setUp(queued(), { kind: 'error', error }, 2);
    await expect(last.run()).rejects.toThrow('processing_failed');
    expect(last.ender.end).toHaveBeenCalledWith(expect.objectContaining({ id: 'job-1' }), JobStatus.Failed, {
      failure: { error: 'Internal Server Error', message: 'processing_failed: video_url: the output has no duration' },
    });
  });
});
