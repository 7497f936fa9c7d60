import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

jest.setTimeout(300_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const NODE_ID = 'runpod-hybrid-node';

/**
 * Hybrid choice and failover with a real GPU node (one slot) next to the RunPod stand-in: jobs run
 * locally while the node has room, burst to RunPod once it is saturated, and go to the local node
 * when RunPod cannot be reached.
 */
describe('hybrid executor with a GPU node and the RunPod stand-in', () => {
  let deployment: Deployment;
  let media: TestMedia;
  let hybrid: ApiUnderTest;
  let runpodDown: ApiUnderTest;

  const freeSlots = async () => {
    const { body } = await hybrid.call<{ nodes?: { nodeId: string; freeSlots: number }[] }>('GET', '/health');
    return body.nodes?.find((n) => n.nodeId === NODE_ID)?.freeSlots;
  };

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-runpod-hybrid',
      media: ['video.mp4', 'audio.mp3', 'image.jpg'],
      runpod: true,
      env: { SYNC_TIMEOUT_S: '240' },
      api: { EXECUTOR_MODE: 'hybrid' },
      nodes: [NODE_ID],
    });
    ({ api: hybrid, media } = deployment);
    runpodDown = deployment.newApi({ EXECUTOR_MODE: 'runpod', RUNPOD_API_BASE: 'http://127.0.0.1:9/v2', RUNPOD_HTTP_TIMEOUT_S: '1' });
  }, 300_000);

  afterAll(() => deployment?.stop());

  it('runs locally while the node has room, then bursts to RunPod once it is saturated', async () => {
    await waitFor('node idle', async () => ((await freeSlots()) === 1 ? true : undefined), 60_000);
    const long = await hybrid.call<Body>('POST', '/video/img2vid', {
      body: { images: [{ id: 'longo', image_url: media.urls['image.jpg'], duracao: 12 }], path: `${media.prefix}hybrid/local/`, async: true },
    });
    expect((await hybrid.call<Body>('GET', `/job/${long.body.jobId}`)).body).toMatchObject({
      executor: 'local',
      executor_reason: 'hybrid_local_has_room',
    });
    await waitFor('node saturated', async () => ((await freeSlots()) === 0 ? true : undefined), 60_000);

    const burst = await hybrid.call<Body>('POST', '/video/addaudio', {
      body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}hybrid/burst/`, output_filename: 'b.mp4' },
    });
    expect(burst.status).toBe(200);
    expect(burst.body).toMatchObject({ executor: 'runpod', executor_reason: 'hybrid_nodes_saturated', node: null });
    expect((await downloadAndProbe(burst.body.video_url)).streams.length).toBeGreaterThan(0);

    const local = await waitFor(
      'local job ended',
      async () => {
        const { body } = await hybrid.call<Body>('GET', `/job/${long.body.jobId}`);
        return body.status === 'COMPLETED' ? body : undefined;
      },
      240_000,
    );
    expect(local.node).toBe(NODE_ID);
    const metrics = await hybrid.call('GET', '/metrics');
    expect(metrics.text).toMatch(/api_gpu_executor_decisions_total\{executor="runpod",reason="hybrid_nodes_saturated"\} 1/);
    expect(metrics.text).toMatch(/api_gpu_executor_decisions_total\{executor="local",reason="hybrid_local_has_room"\} 1/);
  });

  it('with RunPod unreachable, a job meant for RunPod runs on the local node and says so', async () => {
    // Every API with RunPod configured dispatches every queued RunPod job: the one that reaches
    // RunPod must not take this job from the one that cannot.
    await hybrid.stop();
    await runpodDown.start();
    const { status, body } = await runpodDown.call<Body>('POST', '/video/addaudio', {
      body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: `${media.prefix}hybrid/failover/`, output_filename: 'f.mp4' },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ executor: 'local', executor_reason: 'failover_runpod_refused', node: NODE_ID });
    expect((await downloadAndProbe(body.video_url)).streams.length).toBeGreaterThan(0);
  });
});
