import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { FakeRunPod } from '../../../test/support/fake-runpod/fake-runpod';

jest.setTimeout(300_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const NODE_ID = 'runpod-split-node';

interface Part {
  id: string;
  start: number;
  count: number;
  executor: string;
}

/**
 * Large img2vid batches split into parts (IMG2VID_SPLIT_THRESHOLD 4, MAX_WORKERS 3, so 9 images
 * make 3 parts of 3) across a real GPU node (one slot) and the RunPod stand-in, merged in input order.
 */
describe('img2vid batches split across the local node and RunPod', () => {
  let deployment: Deployment;
  let runpod: FakeRunPod;
  let media: TestMedia;
  let api: ApiUnderTest;

  const untilEnded = (id: string) =>
    waitFor(
      `job ${id} ended`,
      async () => {
        const { body } = await api.call<Body>('GET', `/job/${id}`);
        return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(body.status) ? body : undefined;
      },
      240_000,
    );

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-runpod-split',
      media: ['image.jpg', 'image.png'],
      runpod: { workers: 2 },
      env: { SYNC_TIMEOUT_S: '240' },
      api: { EXECUTOR_MODE: 'hybrid', IMG2VID_SPLIT_THRESHOLD: '4', MAX_WORKERS: '3' },
      nodes: [NODE_ID],
    });
    ({ api, media } = deployment);
    ({ runpod } = deployment);
  }, 300_000);

  afterAll(() => deployment?.stop());

  it('runs 9 images as 3 parts on both backends and answers exactly as one job would, in input order', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}split/ok/`;
    const images = Array.from({ length: 9 }, (_, index) => ({
      id: `imagem-${index + 1}-ação`,
      image_url: media.urls[index % 2 === 0 ? 'image.jpg' : 'image.png'],
      duracao: 0.5,
    }));
    const { status, body } = await api.call<Body>('POST', '/video/img2vid', { body: { images, path } });
    expect(status).toBe(200);
    expect(body.executor).toBe('split');
    expect(body.stats).toMatchObject({ total: 9, processed: 9 });
    const videos = body.videos as { id: string; filename: string; video_url: string }[];
    expect(videos.map((video) => video.id)).toEqual(images.map((image) => image.id));
    expect(videos.map((video) => video.filename)).toEqual(images.map((_, index) => `video_${index + 1}.mp4`));
    for (const [index, video] of videos.entries()) {
      expect(video.video_url).toBe(media.publicUrl(`${path}video_${index + 1}.mp4`));
    }
    expect((await downloadAndProbe(videos[8].video_url)).streams[0].codec_type).toBe('video');
    expect((await media.keysUnder(path)).sort()).toEqual(images.map((_, index) => `${path}video_${index + 1}.mp4`).sort());

    const parent = (await api.call<{ parts: Part[] }>('GET', `/job/${body.jobId}`)).body;
    expect(parent.parts.map((part: Part) => [part.start, part.count])).toEqual([[0, 3], [3, 3], [6, 3]]);
    expect(new Set(parent.parts.map((part: Part) => part.executor))).toEqual(new Set(['local', 'runpod']));
    const onRunPod = (await runpod.jobs()).map((job) => job.input.start_index).sort();
    expect(onRunPod).toEqual(parent.parts.filter((part: Part) => part.executor === 'runpod').map((part: Part) => part.start).sort());
  });

  it('one part failing fails the batch naming its images, cancels the other parts and removes what they wrote', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}split/fails/`;
    const images = Array.from({ length: 9 }, (_, index) => ({
      id: `foto-${index + 1}`,
      image_url: index === 6 ? media.publicUrl(`${media.prefix}inputs/nao-existe.jpg`) : media.urls['image.jpg'],
      duracao: index < 6 ? 4 : 0.5,
    }));
    const { status, body } = await api.call<Body>('POST', '/video/img2vid', { body: { images, path } });
    expect(status).toBe(400);
    expect(body.field).toBe('images[6].image_url');
    expect(body.message).toContain('foto-7, foto-8, foto-9');
    const parent = (await api.call<{ status: string; parts: Part[] }>('GET', `/job/${body.jobId}`)).body;
    expect(parent.status).toBe('FAILED');
    const parts = await Promise.all(parent.parts.map((part: Part) => untilEnded(part.id)));
    expect(parts.map((part) => String(part.status))).toEqual(['CANCELLED', 'CANCELLED', 'FAILED']);
    await waitFor('no clip left', async () => ((await media.keysUnder(path)).length === 0 ? true : undefined), 60_000);
  });

  it('cancelling the batch cancels every part, on RunPod too, and its progress follows the parts', async () => {
    await deployment.untilNodesIdle();
    const images = Array.from({ length: 9 }, (_, index) => ({ id: `longa-${index + 1}`, image_url: media.urls['image.jpg'], duracao: 6 }));
    const { body } = await api.call<Body>('POST', '/video/img2vid', { body: { images, path: `${media.prefix}split/cancel/`, async: true } });
    const parent = await waitFor('parts running', async () => {
      const status = (await api.call<{ status: string; progress: number; parts: Part[] }>('GET', `/job/${body.jobId}`)).body;
      return status.status === 'IN_PROGRESS' ? status : undefined;
    });
    const partProgress = await Promise.all(parent.parts.map(async (part) => (await api.call<{ progress: number }>('GET', `/job/${part.id}`)).body.progress));
    expect(parent.progress).toBeLessThanOrEqual(Math.max(...partProgress));
    expect((await api.call('POST', `/job/${body.jobId}/cancel`)).status).toBe(200);
    const parts = await Promise.all(parent.parts.map((part) => untilEnded(part.id)));
    expect(parts.map((part) => String(part.status))).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    const remote = (await runpod.jobs()).filter((job) => parent.parts.some((part) => part.executor === 'runpod' && job.input.start_index === part.start && job.input.path === `${media.prefix}split/cancel/`));
    expect(remote.length).toBeGreaterThan(0);
    for (const job of remote) expect(job).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
  });
});
