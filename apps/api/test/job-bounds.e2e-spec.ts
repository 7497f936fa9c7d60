import { PutObjectCommand } from '@aws-sdk/client-s3';
import type Redis from 'ioredis';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, GpuNodeUnderTest, TestMedia, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

const NODE_ID = 'bounds-e2e-node';
/** The cap every caption gets (its length is only known once probed); 10 s is the least allowed. */
const MAX_RUNTIME_S = 10;
const GRACE_S = 5;
const MAX_QUEUED_JOBS = 3;

jest.setTimeout(300_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

/** Processes whose working directory is under `dir`: the worker runs each FFmpeg in its job's directory. */
function processesWorkingUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** An hour of 720p video made by stream-copying one black 2-second segment: a few MB, hours of work. */
function longVideo(dir: string): string {
  const segment = join(dir, 'black.mp4');
  execFileSync('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=black:size=1280x720:rate=30:duration=2',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', segment,
  ]); // prettier-ignore
  writeFileSync(join(dir, 'list.txt'), "file 'black.mp4'\n".repeat(1800));
  const out = join(dir, 'hour.mkv');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', 'list.txt', '-c', 'copy', out], { cwd: dir });
  return out;
}

/**
 * Issue 20's attacks on a real stack (API, Redis, a GPU node and its worker, MinIO), made small:
 * each is refused before anything is queued, or ends TIMED_OUT at its deadline with its FFmpeg gone,
 * its temp files removed and the node taking the next job.
 */
describe('every job bounded (API, Redis, gpu-node, worker, MinIO)', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let client: Redis;
  const jobRecords = async () => (await client.keys('api-gpu:job:*')).length;
  let api: ApiUnderTest;
  let node: GpuNodeUnderTest;
  let media: TestMedia;
  let workerTmp: string;
  let hourUrl: string;

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-bounds',
      media: ['video.mp4', 'legendas.srt'],
      env: {
        JOB_MAX_RUNTIME_S: String(MAX_RUNTIME_S),
        JOB_DEADLINE_FLOOR_S: '5',
        JOB_DEADLINE_GRACE_S: String(GRACE_S),
        MAX_TOTAL_OUTPUT_S: '600',
        MAX_QUEUED_JOBS_PER_KEY: String(MAX_QUEUED_JOBS),
      },
      api: { SYNC_TIMEOUT_S: '120' },
      nodes: [{ id: NODE_ID, env: { NODE_HEALTH_HOST: '127.0.0.1' } }],
    });
    ({ api, client, media, node, workerTmp } = deployment);
    const key = `${media.prefix}inputs/hour.mkv`;
    await media.s3Client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: readFileSync(longVideo(media.dir)) }),
    );
    hourUrl = media.publicUrl(key);
  }, 300_000);

  afterAll(() => deployment?.stop());

  const caption = (url_video: string, output_filename: string) => ({
    url_video,
    url_srt: media.urls['legendas.srt'],
    path: `${media.prefix}out/`,
    output_filename,
  });

  it('refuses an img2vid batch of 83 hours at admission, naming the field, with nothing queued', async () => {
    const before = await jobRecords();
    const images = Array.from({ length: 500 }, (_, i) => ({ id: `i${i}`, image_url: media.urls['video.mp4'], duracao: 600 }));
    const { status, body } = await api.call<Body>('POST', '/video/img2vid', { body: { images, path: `${media.prefix}x/` } });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'Bad Request', field: 'images' });
    expect(body.message).toContain('MAX_TOTAL_OUTPUT_S');
    expect(await jobRecords()).toBe(before);
  });

  it('ends a caption of an hour-long video TIMED_OUT (504) at its deadline, FFmpeg gone, files removed, the next job run', async () => {
    const started = Date.now();
    const accepted = await api.call<Body>('POST', '/video/caption/async', { body: caption(hourUrl, 'never.mp4') });
    expect(accepted.status).toBe(200);
    const id = accepted.body.jobId as string;

    const running = await waitFor(
      'FFmpeg running in the job directory',
      () => {
        const pids = processesWorkingUnder(workerTmp);
        return Promise.resolve(pids.length > 0 ? pids : undefined);
      },
      60_000,
    );
    const status = (await api.call<Body>('GET', `/job/${id}`)).body;
    expect(status.deadline_s).toBe(MAX_RUNTIME_S);
    expect(Date.parse(status.deadlineAt) - Date.parse(status.startedAt)).toBe(MAX_RUNTIME_S * 1000);

    const ended = await waitFor(
      `job ${id} ended`,
      async () => {
        const body = (await api.call<Body>('GET', `/job/${id}`)).body;
        return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(body.status) ? body : undefined;
      },
      60_000,
    );
    expect(ended.status).toBe('TIMED_OUT');
    expect(Date.parse(ended.endedAt) - Date.parse(ended.startedAt)).toBeLessThan((MAX_RUNTIME_S + GRACE_S) * 1000);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(ended.output).toMatchObject({ error: 'Gateway Timeout' });
    expect(ended.output.message).toContain('deadline');
    const result = await api.call<Body>('GET', `/video/job/${id}/result`);
    expect(result.body.result).toMatchObject({ error: 'Gateway Timeout' });
    expect(running.filter((pid) => existsProcess(pid))).toEqual([]);
    expect(readdirSync(workerTmp)).toEqual([]);
    expect(await media.keysUnder(`${media.prefix}out/never.mp4`)).toEqual([]);

    const next = await api.call<Body>('POST', '/video/caption', { body: caption(media.urls['video.mp4'], 'next.mp4') });
    expect(next.status).toBe(200);
    expect(next.body.status).toBe('COMPLETED');
  });

  it('answers a flood from one key past MAX_QUEUED_JOBS_PER_KEY with 429 and Retry-After, and admits again once jobs end', async () => {
    // No node takes jobs meanwhile: they stay queued, as behind a busy node.
    await node.stop();
    const before = await jobRecords();
    const answers = await Promise.all(
      Array.from({ length: MAX_QUEUED_JOBS + 4 }, (_, i) =>
        api.call<Body>('POST', '/video/caption/async', { body: caption(media.urls['video.mp4'], `flood-${i}.mp4`) }),
      ),
    );
    const accepted = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(accepted).toHaveLength(MAX_QUEUED_JOBS);
    expect(refused).toHaveLength(4);
    expect(await jobRecords()).toBe(before + MAX_QUEUED_JOBS);
    for (const answer of refused) {
      expect(answer.body).toMatchObject({ error: 'Too Many Requests', limit: 'MAX_QUEUED_JOBS_PER_KEY' });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    const cancelled = await api.call<Body>('POST', `/job/${accepted[0].body.jobId}/cancel`);
    expect(cancelled.status).toBe(200);
    const again = await api.call<Body>('POST', '/video/caption/async', { body: caption(media.urls['video.mp4'], 'again.mp4') });
    expect(again.status).toBe(200);
  });
});

function existsProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
