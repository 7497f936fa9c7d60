import { JobEnder, JobOperation, JobRecord, JobStatus, JobStore, RunPodJobData } from '@app/common';
import type { Job } from 'bull';
import { LocalExecutor } from './local.executor';
import { RunPodCallError, RunPodClient } from './runpod-client';
import { RunPodDispatcher, failureOf } from './runpod-dispatcher';
import { RunPodQueueByOperation } from './runpod-queues';
import { ExecutorSettings } from './runpod-settings';
import { StorageService } from '../storage/storage.service';

const settings: ExecutorSettings = {
  mode: 'runpod',
  burstQueueThreshold: 2,
  splitThreshold: 50,
  maxWorkers: 3,
  whisperDefaultModel: null,
  runpod: {
    apiKey: 'key',
    apiBase: 'http://runpod.invalid/v2',
    endpointId: 'worker',
    whisperEndpointId: 'whisper',
    whisperWorker: 'project',
    executionTimeoutS: 600,
    maxWaitS: 3600,
    idleTimeoutS: 5,
    httpTimeoutMs: 1000,
  },
};

const record = (update: Partial<JobRecord> = {}): JobRecord => ({
  id: 'job-1',
  operation: JobOperation.AddAudio,
  status: JobStatus.InQueue,
  input: { url_video: 'http://x/v.mp4', url_audio: 'http://x/a.mp3', path: 'Projeto/', output_filename: 'saída.mp4' },
  executor: 'runpod',
  progress: 0,
  createdAt: new Date().toISOString(),
  ...update,
});

/** The dispatcher with stand-ins for the job store, JobEnder, the local executor and RunPod's client. */
function setUp(stored: JobRecord | null, data: Partial<RunPodJobData> = {}) {
  const store = {
    get: jest.fn().mockResolvedValue(stored),
    updateActive: jest.fn().mockResolvedValue('applied'),
  };
  const ender = { end: jest.fn().mockResolvedValue('applied') };
  const local = { submit: jest.fn().mockResolvedValue(undefined) };
  const client = {
    run: jest.fn().mockResolvedValue({ id: 'remote-1', status: 'IN_QUEUE' }),
    status: jest.fn(),
    cancel: jest.fn().mockResolvedValue({ id: 'remote-1', status: 'CANCELLED' }),
  };
  const update = jest.fn().mockResolvedValue(undefined);
  const releaseLock = jest.fn().mockResolvedValue(undefined);
  const job = { data: { jobId: 'job-1', ...data }, opts: { attempts: 3 }, attemptsMade: 0, update, releaseLock } as unknown as Job<RunPodJobData>;
  const dispatcher = new RunPodDispatcher(
    {} as RunPodQueueByOperation,
    settings,
    store as unknown as JobStore,
    ender as unknown as JobEnder,
    {} as StorageService,
    local as unknown as LocalExecutor,
    client as unknown as RunPodClient,
  );
  return { dispatcher, store, ender, local, client, job, update, releaseLock };
}

describe('RunPodDispatcher', () => {
  it('moves a job RunPod refuses to the local queue when the client named no executor', async () => {
    const { dispatcher, store, local, ender, client, job } = setUp(record(), { failover: true });
    client.run.mockRejectedValue(new RunPodCallError('RunPod POST /run answered 503', 503));
    await expect(dispatcher.dispatch(job)).resolves.toEqual({ movedTo: 'local' });
    expect(store.updateActive).toHaveBeenCalledWith('job-1', { executor: 'local', executorReason: 'failover_runpod_refused' });
    expect(local.submit).toHaveBeenCalledWith(expect.objectContaining({ id: 'job-1', executor: 'local' }));
    expect(ender.end).not.toHaveBeenCalled();
  });

  it('fails a job RunPod refuses when the client asked for RunPod, saying why', async () => {
    const { dispatcher, local, ender, client, job } = setUp(record());
    client.run.mockRejectedValue(new RunPodCallError('RunPod POST /run answered 401', 401));
    await expect(dispatcher.dispatch(job)).resolves.toEqual({ ended: JobStatus.Failed });
    expect(local.submit).not.toHaveBeenCalled();
    expect(ender.end).toHaveBeenCalledWith(expect.objectContaining({ id: 'job-1' }), JobStatus.Failed, {
      failure: { error: 'Internal Server Error', message: 'RunPod did not accept the job: RunPod POST /run answered 401' },
    });
  });

  it('submits the operation with its input, remembers the RunPod id, and cancels it there if the job ended meanwhile', async () => {
    const { dispatcher, store, client, job, update } = setUp(record());
    store.updateActive.mockResolvedValue('refused');
    await expect(dispatcher.dispatch(job)).resolves.toEqual({ skipped: 'ended while RunPod took it' });
    expect(client.run).toHaveBeenCalledWith(
      'worker',
      { operation: 'addaudio', ...record().input },
      { executionTimeoutMs: 600_000, ttlMs: 3_600_000 },
    );
    expect(update).toHaveBeenCalledWith({ jobId: 'job-1', remote: { endpoint: 'worker', remoteId: 'remote-1' } });
    expect(store.updateActive).toHaveBeenCalledWith('job-1', { remoteId: 'remote-1' });
    expect(client.cancel).toHaveBeenCalledWith('worker', 'remote-1');
  });

  it('cancels on RunPod a job whose record is gone, from the id its Bull job remembers', async () => {
    const { dispatcher, client, job } = setUp(null, { remote: { endpoint: 'whisper', remoteId: 'remote-9' } });
    await expect(dispatcher.dispatch(job)).resolves.toEqual({ skipped: 'no record' });
    expect(client.cancel).toHaveBeenCalledWith('whisper', 'remote-9');
    expect(client.run).not.toHaveBeenCalled();
  });

  it('passes a cancel on to RunPod for a job already ended on our side, and submits nothing', async () => {
    const { dispatcher, client, job } = setUp(record({ status: JobStatus.Cancelled, remoteId: 'remote-2' }));
    await expect(dispatcher.dispatch(job)).resolves.toEqual({ skipped: JobStatus.Cancelled });
    expect(client.cancel).toHaveBeenCalledWith('worker', 'remote-2');
    expect(client.run).not.toHaveBeenCalled();
  });

  it('once stopping, hands the job back unlocked and keeps Bull from completing it', async () => {
    const { dispatcher, client, job, releaseLock } = setUp(record({ remoteId: 'remote-3' }));
    await dispatcher.beforeApplicationShutdown();
    await expect(dispatcher.dispatch(job)).resolves.toEqual({ handedBack: true });
    expect(releaseLock).toHaveBeenCalled();
    await expect(job.moveToCompleted()).resolves.toBeNull();
    expect(client.status).not.toHaveBeenCalled();
  });
});

describe("failureOf: RunPod's error of a failed job", () => {
  it("reads the project worker's error object, a request at fault as a Bad Request naming the field", () => {
    const error = JSON.stringify({ code: 'invalid_media', message: 'url_video: não é um vídeo', field: 'url_video', retryable: false });
    expect(failureOf({ operation: JobOperation.Caption }, error)).toEqual({
      error: 'Bad Request',
      message: 'url_video: não é um vídeo',
      field: 'url_video',
      code: 'invalid_media',
    });
  });

  it('takes anything else as a message, under the operation’s own error name', () => {
    expect(failureOf({ operation: JobOperation.Transcribe }, 'CUDA out of memory')).toEqual({
      error: 'Transcription failed',
      message: 'CUDA out of memory',
    });
    expect(failureOf({ operation: JobOperation.AddAudio }, undefined).message).toBe('The job failed on RunPod');
  });
});
