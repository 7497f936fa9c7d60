import { JobStore } from '@app/common';
import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, downloadAndProbe } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { FakeRunPod } from '../../../test/support/fake-runpod/fake-runpod';
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

const NODE_ID = 'split-both-node';

/**
 * A 150-image img2vid batch with the default IMG2VID_SPLIT_THRESHOLD (50) and MAX_WORKERS (3) in
 * hybrid mode, next to one GPU node of one slot: one part runs on the node, the two others burst to
 * the RunPod stand-in (RunPod's v2 API running the real handler), and the client gets one answer.
 */
describe('a large img2vid batch split across the local node and RunPod', () => {
  let deployment: Deployment;
  let store: JobStore;
  let runpod: FakeRunPod;
  let media: TestMedia;
  let api: ApiUnderTest;

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-split-both',
      media: ['image.jpg'],
      runpod: { workers: 2 },
      api: { SYNC_TIMEOUT_S: '500', EXECUTOR_MODE: 'hybrid' },
      nodes: [NODE_ID],
    });
    ({ api, media, store, runpod } = deployment);
  }, 300_000);

  afterAll(() => deployment?.stop());

  it('runs 150 images as one local part and two RunPod parts, merged in input order', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}Projeto Ação/lote híbrido/`;
    const images = batchOf(150, media.urls['image.jpg']);
    const accepted = await api.call<Body>('POST', '/video/img2vid', { body: { images, path, async: true } });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.jobId as string;

    const readings = await watchProgress(store, jobId);
    for (const reading of readings.filter((r) => !r.ended)) expect(reading.parent).toBeLessThanOrEqual(Math.ceil(reading.parts));

    const ended = await untilEnded(api, jobId);
    expect(ended).toMatchObject({ status: 'COMPLETED', progress: 100, executor: 'split' });
    expect(ended.output.stats).toMatchObject({ total: 150, processed: 150 });
    expectMergedInOrder(ended.output.videos, images, media.publicUrl(path));
    expect(await media.keysUnder(path)).toEqual(clipKeys(path, 150));

    const { parts } = await splitRecords(store, jobId);
    expect(parts.map((part) => [part.executor, part.status])).toEqual([
      ['local', 'COMPLETED'],
      ['runpod', 'COMPLETED'],
      ['runpod', 'COMPLETED'],
    ]);
    expect(parts[0].node).toBe(NODE_ID);
    const onRunPod = await Promise.all(parts.slice(1).map((part) => runpod.job(part.remoteId as string)));
    expect(onRunPod.map((job) => [job.status, job.input.start_index, (job.input.images as unknown[]).length])).toEqual([
      ['COMPLETED', 50, 50],
      ['COMPLETED', 100, 50],
    ]);
    const probe = await downloadAndProbe(ended.output.videos[75].video_url);
    expect(probe.streams).toEqual([expect.objectContaining({ codec_type: 'video', width: 1920, height: 1080 })]);
  });

  it('a part that starts while RunPod is slow to take the next ones does not fail the batch', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}lote com RunPod lento/`;
    const images = batchOf(60, media.urls['image.jpg']);
    // Three 429s: RunPod takes the second part only after about two seconds of backoff, long after
    // the local part has started and announced its progress.
    await runpod.fault(429, 3, ['run']);

    const { status, body } = await api.call<Body>('POST', '/video/img2vid', { body: { images, path } });

    expect([status, body.message]).toEqual([200, 'Images converted to videos and uploaded to S3 successfully']);
    expectMergedInOrder(body.videos, images, media.publicUrl(path));
    const { parts } = await splitRecords(store, body.jobId as string);
    expect(parts.map((part) => [part.executor, part.status])).toEqual([
      ['local', 'COMPLETED'],
      ['runpod', 'COMPLETED'],
      ['runpod', 'COMPLETED'],
    ]);
  });

  it('cancelling the batch cancels the local part and sends RunPod a cancel for its parts; no clip is left', async () => {
    await deployment.untilNodesIdle();
    const path = `${media.prefix}lote híbrido cancelado/`;
    const images = batchOf(90, media.urls['image.jpg'], 1);
    const accepted = await api.call<Body>('POST', '/video/img2vid', { body: { images, path, async: true } });
    const jobId = accepted.body.jobId as string;
    await waitFor(
      'both backends running',
      async () => {
        const { parts } = await splitRecords(store, jobId);
        const remote = parts.filter((part) => part.remoteId);
        return parts[0].status === 'IN_PROGRESS' && remote.length === 2 && (await media.keysUnder(path)).length > 0
          ? true
          : undefined;
      },
      120_000,
    );

    expect((await api.call<Body>('POST', `/job/${jobId}/cancel`)).status).toBe(200);

    const parts = await untilPartsEnded(store, jobId);
    expect(parts.map((part) => [part.executor, part.status])).toEqual([
      ['local', 'CANCELLED'],
      ['runpod', 'CANCELLED'],
      ['runpod', 'CANCELLED'],
    ]);
    const remote = await Promise.all(parts.slice(1).map((part) => runpod.job(part.remoteId as string)));
    expect(remote.map((job) => job.cancelRequested)).toEqual([true, true]);
    await untilNothingUnder(media, path);
    await deployment.untilNodesIdle();
    await waitFor('RunPod jobs stopped', async () => {
      const jobs = await Promise.all(parts.slice(1).map((part) => runpod.job(part.remoteId as string)));
      return jobs.every((job) => job.status === 'CANCELLED') ? true : undefined;
    });
    expect(await media.keysUnder(path)).toEqual([]);
  });
});
