import { GetObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiUnderTest, TestMedia, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

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
  const bucket = `${testS3().bucket}-private`;
  let deployment: Deployment;
  let media: TestMedia;
  let api: ApiUnderTest;

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'e2e-private',
      bucket: { name: bucket, remove: true },
      media: ['video.mp4', 'audio.mp3'],
      runpod: true,
      env: { SYNC_TIMEOUT_S: '240' },
      api: { EXECUTOR_MODE: 'hybrid' },
      nodes: [NODE_ID],
    });
    ({ api, media } = deployment);
  }, 300_000);

  afterAll(() => deployment?.stop());

  it.each(['local', 'runpod'])('completes addaudio on %s; the result is private and a playable video', async (executor) => {
    const out = `${media.prefix}${executor}/`;
    const { status, body } = await api.call<Body>('POST', '/video/addaudio', {
      body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: out, output_filename: 'saída.mp4', executor },
    });
    expect(status).toBe(200);
    expect(body.executor).toBe(executor);
    expect(body.video_url).toBe(media.publicUrl(`${out}saída.mp4`));

    expect((await fetch(body.video_url, { signal: AbortSignal.timeout(10_000) })).status).toBe(403);
    const object = await media.s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: `${out}saída.mp4` }));
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
