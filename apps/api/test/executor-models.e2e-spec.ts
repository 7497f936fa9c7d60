import { ApiUnderTest, GpuNodeUnderTest, TestMedia } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

jest.setTimeout(300_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const NODE_ID = 'executor-models-node';
/** A valid model name that no node here has: the nodes carry only the bundled base and tiny.en. */
const ABSENT_MODEL = 'large-v3';

/**
 * A transcription goes to a node that can load its model: with a real GPU node (bundled models
 * only), a model no live node advertises goes to the RunPod stand-in when RunPod is configured,
 * and is refused with a 400 naming `model` when it is not. With no node alive the job is queued.
 */
describe('transcriptions placed by the models the live nodes advertise', () => {
  let deployment: Deployment;
  let media: TestMedia;
  let node: GpuNodeUnderTest | undefined;
  let localOnly: ApiUnderTest;
  let withRunPod: ApiUnderTest;

  const transcribe = (api: ApiUnderTest, body: Body) =>
    api.call<Body>('POST', '/transcribe', { body: { audio_url: media.urls['speech.wav'], path: `${media.prefix}t/`, ...body } });
  const job = async (api: ApiUnderTest, jobId: string) => (await api.call<Body>('GET', `/job/${jobId}`)).body;

  beforeAll(async () => {
    deployment = await startDeployment({ name: 'e2e-executor-models', media: ['speech.wav'], runpod: true, api: false });
    media = deployment.media;
    localOnly = await deployment.startApi({ SYNC_TIMEOUT_S: '240' }, { runpod: false });
    withRunPod = await deployment.startApi({ SYNC_TIMEOUT_S: '240', EXECUTOR_MODE: 'local', WHISPER_DEFAULT_MODEL: ABSENT_MODEL });
  }, 300_000);

  afterAll(() => deployment?.stop());

  it('with no node alive, queues a transcription whatever its model: a node may come', async () => {
    const queued = await transcribe(localOnly, { model: ABSENT_MODEL, async: true });
    expect(queued.status).toBe(202);
    expect(await job(localOnly, queued.body.jobId)).toMatchObject({ executor: 'local', executor_reason: 'mode_local' });
    expect((await localOnly.call('POST', `/job/${queued.body.jobId}/cancel`)).status).toBe(200);
  });

  describe('with a live node', () => {
    beforeAll(async () => {
      node = await deployment.startNode(NODE_ID);
    }, 300_000);

    it('refuses, without RunPod, a model no live node has: 400 naming model and listing theirs', async () => {
      const { status, body } = await transcribe(localOnly, { model: ABSENT_MODEL, async: true });
      expect(status).toBe(400);
      expect(body).toEqual({
        error: 'Bad Request',
        message: expect.stringContaining(`"${ABSENT_MODEL}"`),
        field: 'model',
        models: expect.arrayContaining(['base', 'tiny.en']),
      });
      expect(body.message).toContain('base');
    });

    it('runs on the node a transcription whose default model (by language) the node has', async () => {
      const { status, body } = await transcribe(localOnly, { language: 'en' });
      expect(status).toBe(200);
      expect(body).toMatchObject({ executor: 'local', executor_reason: 'mode_local', node: NODE_ID, stats: { model: 'tiny.en' } });
    });

    it('sends to RunPod a model no live node has, the default one included', async () => {
      const named = await transcribe(withRunPod, { model: ABSENT_MODEL, async: true });
      expect(named.status).toBe(202);
      expect(await job(withRunPod, named.body.jobId)).toMatchObject({
        executor: 'runpod',
        executor_reason: 'model_not_on_local_nodes',
      });
      const byDefault = await transcribe(withRunPod, { async: true });
      expect(byDefault.status).toBe(202);
      expect(await job(withRunPod, byDefault.body.jobId)).toMatchObject({
        executor: 'runpod',
        executor_reason: 'model_not_on_local_nodes',
      });
      const metrics = await withRunPod.call('GET', '/metrics');
      expect(metrics.text).toMatch(/api_gpu_executor_decisions_total\{executor="runpod",reason="model_not_on_local_nodes"\} 2/);
    });

    it('keeps on the node a model it has, and refuses an absent one the client wants run locally', async () => {
      const kept = await transcribe(withRunPod, { model: 'base', async: true });
      expect(kept.status).toBe(202);
      expect(await job(withRunPod, kept.body.jobId)).toMatchObject({ executor: 'local', executor_reason: 'mode_local' });
      await withRunPod.call('POST', `/job/${kept.body.jobId}/cancel`);

      const { status, body } = await transcribe(withRunPod, { model: ABSENT_MODEL, executor: 'local', async: true });
      expect(status).toBe(400);
      expect(body).toMatchObject({ field: 'model' });
    });
  });

  describe('with a live node serving the absent model by an alias (WHISPER_MODEL_ALIASES)', () => {
    const ALIAS_NODE_ID = 'executor-models-alias-node';

    beforeAll(async () => {
      await node?.stop();
      node = await deployment.startNode({ id: ALIAS_NODE_ID, env: { WHISPER_MODEL_ALIASES: `${ABSENT_MODEL}=base` } });
    }, 300_000);

    it('runs the aliased name on the node, and the answer says which model ran and which was asked for', async () => {
      const { status, body } = await transcribe(localOnly, { model: ABSENT_MODEL, language: 'en' });
      expect(status).toBe(200);
      expect(body).toMatchObject({ node: ALIAS_NODE_ID, stats: { model: 'base', model_requested: ABSENT_MODEL } });
      const words = (await fetch(body.files.segments.json as string).then((r) => r.json())) as Body;
      expect(words.metadata).toEqual({ language: 'en', model: 'base', device: 'cpu', model_requested: ABSENT_MODEL });
    });

    it('routes the aliased name to the node rather than RunPod, default model included', async () => {
      for (const body of [{ model: ABSENT_MODEL, async: true }, { async: true }]) {
        const queued = await transcribe(withRunPod, body);
        expect(queued.status).toBe(202);
        expect(await job(withRunPod, queued.body.jobId)).toMatchObject({ executor: 'local', executor_reason: 'mode_local' });
        await withRunPod.call('POST', `/job/${queued.body.jobId}/cancel`);
      }
    });

    it('GET /transcribe/health lists the aliases', async () => {
      const health = await localOnly.call<Body>('GET', '/transcribe/health', { key: null });
      expect(health.status).toBe(200);
      expect(health.body.whisper.message).toContain(`models: base, tiny.en; aliases: ${ABSENT_MODEL}=base`);
    });
  });
});
