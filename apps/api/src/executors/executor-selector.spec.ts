import { JobEnder, JobOperation, JobRecord, JobStatus, JobStore, NodeHeartbeat } from '@app/common';
import { HttpException } from '@nestjs/common';
import { NodeRegistryService } from '../nodes/node-registry.service';
import { ApiMetrics } from '../observability/api-metrics';
import { ExecutorRefusedError } from './executor';
import { ExecutorSelector } from './executor-selector';
import { LocalExecutor } from './local.executor';
import { JobQueueByOperation } from './local-queues';
import { RunPodExecutor } from './runpod.executor';
import { ExecutorSettings } from './runpod-settings';

const node = (update: Partial<NodeHeartbeat> = {}): NodeHeartbeat => ({
  nodeId: 'node-1',
  hostname: 'host',
  pid: 1,
  slots: 2,
  freeSlots: 2,
  draining: false,
  gpu: null,
  encoder: 'libx264',
  nvenc: false,
  encoderFallback: null,
  whisperDevice: 'cpu',
  whisperFallback: null,
  models: ['tiny.en', 'base'],
  warmModels: [],
  startedAt: new Date().toISOString(),
  lastSeenAt: new Date().toISOString(),
  ...update,
});

/** The selector over stand-ins: the live nodes, the queues' waiting counts and both executors. */
function setUp({ mode = 'hybrid', runpod = true, nodes = [node()], waiting = 0 }: { mode?: ExecutorSettings['mode']; runpod?: boolean; nodes?: NodeHeartbeat[]; waiting?: number } = {}) {
  const settings: ExecutorSettings = {
    mode,
    burstQueueThreshold: 2,
    splitThreshold: 50,
    maxWorkers: 3,
    whisperDefaultModel: null,
    runpod: null,
  };
  const local = { name: 'local', submit: jest.fn().mockResolvedValue(undefined), cancel: jest.fn() };
  const remote = { name: 'runpod', configured: runpod, submit: jest.fn().mockResolvedValue(undefined), cancel: jest.fn() };
  const registry = { liveNodes: jest.fn().mockResolvedValue(nodes) };
  const store = { updateActive: jest.fn().mockResolvedValue('applied') };
  const queue = { getWaitingCount: jest.fn().mockResolvedValue(waiting) };
  const queues = Object.fromEntries(Object.values(JobOperation).map((operation, index) => [operation, index === 0 ? queue : { getWaitingCount: jest.fn().mockResolvedValue(0) }]));
  const selector = new ExecutorSelector(
    settings,
    local as unknown as LocalExecutor,
    remote as unknown as RunPodExecutor,
    registry as unknown as NodeRegistryService,
    store as unknown as JobStore,
    {} as JobEnder,
    queues as unknown as JobQueueByOperation,
    new ApiMetrics(),
  );
  return { selector, local, remote, store };
}

const addaudio = JobOperation.AddAudio;

describe('ExecutorSelector: where a job runs', () => {
  it('follows the executor the client names, and refuses RunPod with 400 naming executor when it is not configured', async () => {
    expect(await setUp().selector.choose(addaudio, 'local')).toMatchObject({ executor: 'local', reason: 'requested', failover: false });
    expect(await setUp().selector.choose(addaudio, 'runpod')).toMatchObject({ executor: 'runpod', reason: 'requested', failover: false });
    const refused = setUp({ runpod: false }).selector.choose(addaudio, 'runpod');
    await expect(refused).rejects.toBeInstanceOf(HttpException);
    await expect(refused).rejects.toMatchObject({ response: expect.objectContaining({ field: 'executor' }) });
  });

  it('in hybrid runs locally while a live node has room, else bursts to RunPod saying why', async () => {
    expect(await setUp().selector.choose(addaudio, undefined)).toMatchObject({ executor: 'local', reason: 'hybrid_local_has_room', failover: true });
    expect(await setUp({ nodes: [] }).selector.choose(addaudio, undefined)).toMatchObject({ executor: 'runpod', reason: 'hybrid_no_live_node' });
    expect(await setUp({ nodes: [node({ draining: true })] }).selector.choose(addaudio, undefined)).toMatchObject({ reason: 'hybrid_no_live_node' });
    expect(await setUp({ nodes: [node({ freeSlots: 0 })] }).selector.choose(addaudio, undefined)).toMatchObject({ executor: 'runpod', reason: 'hybrid_nodes_saturated' });
    // 5 waiting for 2 free slots: 2.5 per slot, over the threshold of 2.
    expect(await setUp({ waiting: 5 }).selector.choose(addaudio, undefined)).toMatchObject({ executor: 'runpod', reason: 'hybrid_queue_over_threshold' });
    expect(await setUp({ waiting: 4 }).selector.choose(addaudio, undefined)).toMatchObject({ executor: 'local', reason: 'hybrid_local_has_room' });
  });

  it('follows EXECUTOR_MODE when the client names none', async () => {
    expect(await setUp({ mode: 'local', nodes: [] }).selector.choose(addaudio, undefined)).toMatchObject({ executor: 'local', reason: 'mode_local' });
    expect(await setUp({ mode: 'runpod' }).selector.choose(addaudio, undefined)).toMatchObject({ executor: 'runpod', reason: 'mode_runpod' });
  });

  it('splits an img2vid batch over IMG2VID_SPLIT_THRESHOLD images', async () => {
    const images = (count: number) => ({ images: Array.from({ length: count }, (_, index) => ({ id: `${index}` })) });
    expect(await setUp().selector.choose(JobOperation.Img2Vid, undefined, images(51))).toMatchObject({ executor: 'split', reason: 'split' });
    expect(await setUp().selector.choose(JobOperation.Img2Vid, undefined, images(50))).toMatchObject({ executor: 'local' });
  });

  it('sends a transcription whose model no live node has to RunPod, or answers 400 naming model without RunPod', async () => {
    const large = { audio_url: 'http://x/a.wav', path: 'p/', model: 'large-v3' };
    expect(await setUp({ mode: 'local' }).selector.choose(JobOperation.Transcribe, undefined, large)).toMatchObject({
      executor: 'runpod',
      reason: 'model_not_on_local_nodes',
    });
    const refused = setUp({ mode: 'local', runpod: false }).selector.choose(JobOperation.Transcribe, undefined, large);
    await expect(refused).rejects.toMatchObject({ response: expect.objectContaining({ field: 'model', models: ['base', 'tiny.en'] }) });
  });

  it('hands a job the chosen executor refuses to the other one, when failover is allowed', async () => {
    const { selector, local, remote, store } = setUp();
    local.submit.mockRejectedValue(new ExecutorRefusedError('local', 'the job queue (Redis) did not take the job'));
    const job: JobRecord = { id: 'j', operation: addaudio, status: JobStatus.InQueue, input: {}, executor: 'local', progress: 0, createdAt: '' };
    const moved = await selector.submit(job, { executor: 'local', reason: 'hybrid_local_has_room', failover: true });
    expect(moved).toMatchObject({ executor: 'runpod', executorReason: 'failover_local_refused' });
    expect(store.updateActive).toHaveBeenCalledWith('j', { executor: 'runpod', executorReason: 'failover_local_refused' });
    expect(remote.submit).toHaveBeenCalled();
    await expect(selector.submit(job, { executor: 'local', reason: 'requested', failover: false })).rejects.toBeInstanceOf(ExecutorRefusedError);
  });
});
