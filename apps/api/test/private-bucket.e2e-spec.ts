import { CreateBucketCommand, DeleteBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OwnedProcess, TestRedis } from '../../../test/support/processes';
import { ApiUnderTest, TestMedia, TestS3, sharedEnv, startGpuNode, testS3, waitForNodeReady } from '../../../test/support/api-e2e';
import { FakeRunPod } from '../../../test/support/fake-runpod/fake-runpod';

jest.setTimeout(300_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const run = promisify(execFile);
const NODE_ID = 'private-bucket-node';

/**
 * A results bucket without anonymous read (S3_PUBLIC_READ=false): inputs are read and results
 * written with the service's credentials, and the output check needs no public URL, so jobs
 * complete on both executors while their URLs answer 403 to anyone without credentials.
 */
describe('private bucket (API, GPU node, RunPod stand-in, MinIO bucket without public read)', () => {
  const shared = testS3();
  const bucket = `${shared.bucket}-private`;
  const s3: TestS3 = { ...shared, bucket, publicUrl: `${shared.endpoint}/${bucket}` };
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
  });
  let redis: TestRedis;
  let runpod: FakeRunPod;
  let media: TestMedia;
  let api: ApiUnderTest;
  let node: OwnedProcess;
  let workerTmp: string;

  beforeAll(async () => {
    await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
      if (error.name !== 'BucketAlreadyOwnedByYou') throw error;
    });
    redis = await TestRedis.create();
    await redis.start();
    media = await new TestMedia(s3, `e2e-private-${Date.now()}/`).make(['video.mp4', 'audio.mp3']);
    runpod = new FakeRunPod(s3);
    await runpod.start();
    const env = { ...sharedEnv(s3, redis.url), SYNC_TIMEOUT_S: '240' };
    api = new ApiUnderTest({
      ...env,
      EXECUTOR_MODE: 'hybrid',
      RUNPOD_API_KEY: runpod.apiKey,
      RUNPOD_ENDPOINT_ID: 'api-gpu-worker',
      RUNPOD_API_BASE: runpod.base,
    });
    await api.start();
    workerTmp = mkdtempSync(join(tmpdir(), 'api-gpu-private-worker-'));
    node = await startGpuNode({ ...env, WORKER_TMP_DIR: workerTmp }, NODE_ID, 1);
    await waitForNodeReady(api, NODE_ID, node);
  }, 300_000);

  afterAll(async () => {
    await node?.stop();
    await api?.stop();
    await runpod?.stop();
    await redis?.dispose();
    await media?.dispose();
    await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    client.destroy();
    if (workerTmp) rmSync(workerTmp, { recursive: true, force: true });
  });

  it.each(['local', 'runpod'])('completes addaudio on %s; the result is private and a playable video', async (executor) => {
    const out = `${media.prefix}${executor}/`;
    const { status, body } = await api.call<Body>('POST', '/video/addaudio', {
      body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: out, output_filename: 'saída.mp4', executor },
    });
    expect(status).toBe(200);
    expect(body.executor).toBe(executor);
    expect(body.video_url).toBe(media.publicUrl(`${out}saída.mp4`));

    expect((await fetch(body.video_url, { signal: AbortSignal.timeout(10_000) })).status).toBe(403);
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${out}saída.mp4` }));
    const dir = mkdtempSync(join(tmpdir(), 'api-gpu-private-'));
    try {
      const path = join(dir, 'video.mp4');
      writeFileSync(path, await object.Body!.transformToByteArray());
      const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', path]);
      const streams = (JSON.parse(stdout) as { streams: { codec_type: string }[] }).streams;
      expect(streams.map((stream) => stream.codec_type).sort()).toEqual(['audio', 'video']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
