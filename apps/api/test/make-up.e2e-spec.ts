import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnedProcess, REPO_ROOT, freePort } from '../../../test/support/processes';

jest.setTimeout(180_000);

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * `make up` (scripts/up.sh) failing partway, here on a variable only the API refuses: it stops what
 * that run started (Redis, MinIO, the GPU node) and prints the lines that say why. It runs in a copy
 * of the repository's scripts, with the set-up already done (its .venv, .tools, dist linked) and
 * every port and directory its own, so nothing of a developer's `make up` is touched.
 */
describe('make up', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'api-gpu-make-up-'));
    mkdirSync(join(root, 'scripts'));
    for (const script of ['up.sh', 'down.sh', 'lib.sh', 'services.sh', 'ensure_bucket.py', 'upload_samples.py']) {
      copyFileSync(join(REPO_ROOT, 'scripts', script), join(root, 'scripts', script));
    }
    // The set-up is done already; installing is not what this test is about.
    writeFileSync(join(root, 'scripts', 'setup.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(root, 'scripts', 'setup.sh'), 0o755);
    for (const linked of ['.venv', '.tools', 'dist', 'node_modules', 'worker-python', 'libs', 'package.json']) {
      symlinkSync(join(REPO_ROOT, linked), join(root, linked));
    }
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('stops Redis, MinIO and the node it started, and shows why the API did not start', async () => {
    const [redisPort, minioPort, apiPort, nodePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const up = new OwnedProcess('bash', [join(root, 'scripts', 'up.sh')], {
      DATA_DIR: join(root, '.data'),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      S3_ENDPOINT_URL: `http://127.0.0.1:${minioPort}`,
      PORT: String(apiPort),
      NODE_HEALTH_PORT: String(nodePort),
      HOST: '127.0.0.1',
      SYNC_TIMEOUT_S: '0',
    }).start();

    expect(await up.exitCode(150_000)).not.toBe(0);

    expect(up.output).toContain('make up failed; stopping what this run started');
    expect(up.output).toContain('SYNC_TIMEOUT_S must be at least 1');
    for (const name of ['gpu-node', 'minio', 'redis']) expect(up.output).toContain(`stopped ${name}`);
    const runDir = join(root, '.data', 'run');
    expect(existsSync(runDir) ? readdirSync(runDir) : []).toEqual([]);
    for (const port of [redisPort, minioPort, apiPort, nodePort]) expect(await listening(port)).toBe(false);
  });

  it('prints the whisper aliases it wrote and the samples it uploaded, which download', async () => {
    const [redisPort, minioPort, apiPort, nodePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env = {
      DATA_DIR: join(root, '.data'),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      S3_ENDPOINT_URL: `http://127.0.0.1:${minioPort}`,
      PORT: String(apiPort),
      NODE_HEALTH_PORT: String(nodePort),
      HOST: '127.0.0.1',
    };
    const up = new OwnedProcess('bash', [join(root, 'scripts', 'up.sh')], env).start();
    try {
      expect(await up.exitCode(150_000)).toBe(0);
      expect(up.output).toContain(
        'model aliases: tiny=base,small=base,medium=base,large-v1=base,large-v2=base,large-v3=base,large-v3-turbo=base,turbo=base',
      );
      const samples = up.output.match(/http:\/\/127\.0\.0\.1:\d+\/canais\/samples\/\S+/g) ?? [];
      expect(samples.map((url) => url.split('/').pop()).sort()).toEqual(['fala.mp3', 'legendas.srt', 'paisagem.jpg', 'retrato.jpg', 'video.mp4']);
      for (const url of samples) expect((await fetch(url)).status).toBe(200);
      expect(readFileSync(join(root, '.env'), 'utf8')).toMatch(/^WHISPER_MODEL_ALIASES=tiny=base,/m);
    } finally {
      const down = new OwnedProcess('bash', [join(root, 'scripts', 'down.sh')], env).start();
      expect(await down.exitCode(120_000)).toBe(0);
    }
    for (const port of [redisPort, minioPort, apiPort, nodePort]) expect(await listening(port)).toBe(false);
  });
});
