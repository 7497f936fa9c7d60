import { JobStatus } from '@app/common';
import { randomUUID } from 'node:crypto';
import { waitFor } from '../../../test/support/processes';
import { Harness, NodeProcess } from './node-harness';

jest.setTimeout(180_000);

describe('GPU node with a worker that must be replaced after each job (real Redis, MinIO, Python worker)', () => {
  const harness = new Harness();
  let node: NodeProcess;

  beforeAll(async () => {
    await harness.start();
    // Every worker is over a 1 MB ceiling after its job, so each job retires the worker that ran it.
    node = await harness.startNode('node-recycling', { WORKER_MAX_RSS_MB: '1' });
  });
  afterAll(() => harness.stop());

  it('gives the job queued behind a retiring worker to the worker started in its place, never to the retiring one', async () => {
    const addAudio = (tag: string) => ({
      url_video: harness.media.url('/video.mp4'),
      url_audio: harness.media.url('/audio.wav'),
      path: `${tag}-${randomUUID()}/`,
      output_filename: 'out.mp4',
    });
    const first = await harness.queueAddAudio(addAudio('first'));
    const second = await harness.queueAddAudio(addAudio('second'));

    for (const jobId of [first, second]) {
      const record = await harness.waitForStatus(jobId, [JobStatus.Completed, JobStatus.Failed], 120_000);
      expect(record.failure).toBeUndefined();
      expect(record.status).toBe(JobStatus.Completed);
      // Handed to the worker that was exiting, the job would have died with it and run again.
      expect((await harness.bullState(jobId)).attemptsMade).toBe(0);
    }
    expect(node.output).toContain('will be replaced after its job: resident memory');
    const pids = await waitFor('a third worker, after the second job', () =>
      Promise.resolve(node.workerPids().length >= 3 ? node.workerPids() : undefined),
    );
    expect(new Set(pids).size).toBe(pids.length);
  });
});
