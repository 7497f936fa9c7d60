import { JobStore } from '@app/common';
import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import {
  Body,
  batchOf,
  clipKeys,
  expectMergedInOrder,
  splitRecords,
  untilEnded,
  untilNothingUnder,
  untilPartsEnded,
  watchProgress,
} from './support/split-batch';

jest.setTimeout(600_000);

const NODE_IDS = ['split-node-a', 'split-node-b'];

/**
 * Large img2vid batches on the local executor: two GPU node processes of one slot each, a real
 * Redis, the Python worker, FFmpeg and the test MinIO. A batch above IMG2VID_SPLIT_THRESHOLD (50)
 * runs as MAX_WORKERS (3) parts, each a job of its own, and is answered as one job would be.
 */
describe('img2vid batches split across local GPU nodes', () => {
  let deployment: Deployment;
  let store: JobStore;
  let api: ApiUnderTest;
  let media: TestMedia;

  /** Polls the job until it ends; returns the most clips seen under `path` meanwhile. */
  const clipsWrittenUntilEnded = async (jobId: string, path: string) => {
    let most = 0;
    await waitFor(
      `job ${jobId} ended`,
      async () => {
        most = Math.max(most, (await media.keysUnder(path)).length);
        const { body } = await api.call<Body>('GET', `/job/${jobId}`);
        return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(body.status) ? true : undefined;
      },
      400_000,
    );
    return most;
  };

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-split',
      media: ['image.jpg'],
      api: { SYNC_TIMEOUT_S: '500', EXECUTOR_MODE: 'local' },
      nodes: NODE_IDS,
    });
    ({ api, media, store } = deployment);
  }, 300_000);

  afterAll(() => deployment?.stop());

  it('runs 150 images as three parts on both nodes and answers with the clips in input order', async () => {
    const path = `${media.prefix}Projeto Ação/lote de 150/`;
    const images = batchOf(150, media.urls['image.jpg']);
    const accepted = await api.call<Body>('POST', '/video/img2vid', { body: { images, path, async: true } });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.jobId as string;

    const { parent, parts } = await splitRecords(store, jobId);
    expect(parent.executor).toBe('split');
    expect(parent.parts?.map(({ start, count }) => ({ start, count }))).toEqual([
      { start: 0, count: 50 },
      { start: 50, count: 50 },
      { start: 100, count: 50 },
    ]);
    parts.forEach((part, index) => {
      expect(part.parentId).toBe(jobId);
      expect(part.executor).toBe('local');
      expect(part.input.start_index).toBe(index * 50);
      expect(part.input.images).toEqual(images.slice(index * 50, index * 50 + 50));
      expect(part.input.path).toBe(path);
    });

    const readings = await watchProgress(store, jobId);
    const running = readings.filter((reading) => !reading.ended);
    for (const reading of running) expect(reading.parent).toBeLessThanOrEqual(Math.ceil(reading.parts));
    expect(running.some((reading) => reading.parent > 0 && reading.parent < 100)).toBe(true);
    expect(running.map((reading) => reading.parent)).toEqual([...running.map((reading) => reading.parent)].sort((a, b) => a - b));

    const status = await api.call<Body>('GET', `/job/${jobId}`);
    expect(status.body).toMatchObject({ status: 'COMPLETED', progress: 100, executor: 'split' });
    const result = await api.call<Body>('GET', `/video/job/${jobId}/result`);
    expect(result.status).toBe(200);
    expect(result.body.result).toMatchObject({
      code: 200,
      message: 'Images converted to videos and uploaded to S3 successfully',
      stats: { total: 150, processed: 150 },
    });
    expectMergedInOrder(result.body.result.videos, images, media.publicUrl(path));
    expect(await media.keysUnder(path)).toEqual(clipKeys(path, 150));

    const ended = (await splitRecords(store, jobId)).parts;
    expect(ended.map((part) => part.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(new Set(ended.map((part) => part.node))).toEqual(new Set(NODE_IDS));
    const last = await downloadAndProbe(result.body.result.videos[149].video_url);
    expect(last.streams).toEqual([expect.objectContaining({ codec_type: 'video', width: 1920, height: 1080 })]);
  });

  it('when one part fails: the failed image is named, the other parts are cancelled and every clip removed', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}lote com falha/`;
    const images = batchOf(150, media.urls['image.jpg']);
    // The eleventh image of the second part: by the time it is fetched, the first two parts have written
    // clips, and the first part still has most of its 50 to make, so it is running when the failure
    // cancels it (with the second part's last image, a fast first part had sometimes completed by then).
    images[60] = { ...images[60], id: 'imagem-ausente-ção', image_url: media.publicUrl(`${media.prefix}inputs/não-existe.jpg`) };
    const accepted = await api.call<Body>('POST', '/video/img2vid', { body: { images, path, async: true } });
    const jobId = accepted.body.jobId as string;

    const clipsSeen = await clipsWrittenUntilEnded(jobId, path);

    expect(clipsSeen).toBeGreaterThan(0);
    const result = await api.call<Body>('GET', `/video/job/${jobId}/result`);
    expect(result.body.status).toBe('FAILED');
    expect(result.body.result).toMatchObject({ error: 'Bad Request', field: 'images[60].image_url', executor: 'split' });
    expect(result.body.result.message).toContain('imagem-ausente-ção');
    const parts = await untilPartsEnded(store, jobId);
    expect(parts.map((part) => part.status)).toEqual(['CANCELLED', 'FAILED', 'CANCELLED']);
    await untilNothingUnder(media, path);
    await deployment.untilNodesIdle();
    expect(await media.keysUnder(path)).toEqual([]);
  });

  it('cancelling the batch cancels every part, running or waiting, and leaves no clip behind', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}lote cancelado/`;
    const images = batchOf(60, media.urls['image.jpg'], 1);
    const accepted = await api.call<Body>('POST', '/video/img2vid', { body: { images, path, async: true } });
    const jobId = accepted.body.jobId as string;
    await waitFor('the batch running with clips written', async () => ((await media.keysUnder(path)).length > 0 ? true : undefined), 120_000);

    const cancel = await api.call<Body>('POST', `/job/${jobId}/cancel`);

    expect(cancel.status).toBe(200);
    const parts = await untilPartsEnded(store, jobId);
    expect(parts.map((part) => part.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect((await api.call<Body>('GET', `/job/${jobId}`)).body.status).toBe('CANCELLED');
    await untilNothingUnder(media, path);
    await deployment.untilNodesIdle();
    expect(await media.keysUnder(path)).toEqual([]);
  });

  it('cancelling the batch after one part has completed removes the clips of that part too', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}lote cancelado depois de uma parte/`;
    // Three parts on two one-slot nodes: when the first part completes, another has yet to run.
    const images = batchOf(60, media.urls['image.jpg']).map((image, index) => (index < 20 ? image : { ...image, duracao: 3 }));
    const accepted = await api.call<Body>('POST', '/video/img2vid', { body: { images, path, async: true } });
    const jobId = accepted.body.jobId as string;
    const completed = await waitFor(
      'a part completed',
      async () => (await splitRecords(store, jobId)).parts.find((part) => part.status === 'COMPLETED'),
      300_000,
    );
    expect((await media.keysUnder(path)).length).toBeGreaterThanOrEqual((completed.input.images as unknown[]).length);

    const cancel = await api.call<Body>('POST', `/job/${jobId}/cancel`);

    expect([cancel.status, cancel.body.message]).toEqual([200, 'Job cancelled successfully']);
    const parts = await untilPartsEnded(store, jobId);
    expect(parts.map((part) => part.status).sort()).toEqual(['CANCELLED', 'CANCELLED', 'COMPLETED']);
    await untilNothingUnder(media, path);
    await deployment.untilNodesIdle();
    expect(await media.keysUnder(path)).toEqual([]);
  });

  it('survives an API restart: parts that end while no API runs are merged once it is back', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}lote reiniciado/`;
    const images = batchOf(60, media.urls['image.jpg']);
    const accepted = await api.call<Body>('POST', '/video/img2vid', { body: { images, path, async: true } });
    const jobId = accepted.body.jobId as string;

    await api.stop();
    const parts = await untilPartsEnded(store, jobId, 300_000);
    expect(parts.map((part) => part.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect((await store.get(jobId))?.status).not.toBe('COMPLETED');
    await api.start();

    const ended = await untilEnded(api, jobId, 120_000);
    expect(ended).toMatchObject({ status: 'COMPLETED', progress: 100 });
    expectMergedInOrder(ended.output.videos, images, media.publicUrl(path));
    expect(await media.keysUnder(path)).toEqual(clipKeys(path, 60));
  });
});
