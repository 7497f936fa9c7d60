import { JobOperation } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { OutputCheck, OutputCheckError } from './output-check.service';

/** The check with real ffprobe against files served over HTTP, as MinIO serves results. */
describe('OutputCheck', () => {
  const dir = mkdtempSync(join(tmpdir(), 'output-check-'));
  const files: Record<string, Buffer> = {};
  let server: Server;
  let base: string;
  const check = new OutputCheck({ get: () => true } as unknown as ConfigService<GpuNodeEnv, true>);

  beforeAll(async () => {
    const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=5', '-t', '1', '-pix_fmt', 'yuv420p', join(dir, 'v.mp4')]);
    ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', join(dir, 'a.m4a')]);
    files['/São Paulo/vídeo.mp4'] = readFileSync(join(dir, 'v.mp4'));
    files['/audio-only.mp4'] = readFileSync(join(dir, 'a.m4a'));
    files['/text.mp4'] = Buffer.from('not a video');
    server = createServer((request, response) => {
      const body = files[decodeURIComponent(request.url ?? '')];
      if (body) response.writeHead(200, { 'content-length': body.length }).end(body);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (path: string) => base + encodeURI(path);

  it('accepts a video with a duration, under an encoded Portuguese key', async () => {
    await expect(
      check.verify(JobOperation.Caption, { video_url: url('/São Paulo/vídeo.mp4') }),
    ).resolves.toBeUndefined();
  });

  it.each([
    ['/text.mp4', /video_url: the output cannot be probed/],
    ['/audio-only.mp4', /video_url: the output has no video stream/],
    ['/missing.mp4', /video_url: the output cannot be probed/],
  ])('refuses %s', async (path, message) => {
    const verified = check.verify(JobOperation.AddAudio, { video_url: url(path) });
    await expect(verified).rejects.toThrow(OutputCheckError);
    await expect(verified).rejects.toThrow(message);
  });

  it('checks every clip of an img2vid job, naming the bad one', async () => {
    const output = {
      videos: [
        { id: 'a', video_url: url('/São Paulo/vídeo.mp4'), filename: 'video_1.mp4' },
        { id: 'b', video_url: url('/text.mp4'), filename: 'video_2.mp4' },
      ],
    };
    await expect(check.verify(JobOperation.Img2Vid, output)).rejects.toThrow(/videos\[1\]\.video_url/);
  });

  it('has nothing to probe in a transcription', async () => {
    await expect(check.verify(JobOperation.Transcribe, { language: 'pt' })).resolves.toBeUndefined();
  });
});
