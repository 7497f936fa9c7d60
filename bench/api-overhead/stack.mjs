// The service as the benchmarks run it: the built API and GPU node (dist/, which bench/run's set-up
// rebuilds when the sources changed) as real processes on free ports, against a Redis of their own (so no other process on the test Redis takes their jobs
// or gives them its own) and the test MinIO that bench/run started.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export const ROOT = resolve(import.meta.dirname, '../..');
const API_MAIN = join(ROOT, 'dist/apps/api/main.js');
const NODE_MAIN = join(ROOT, 'dist/apps/gpu-node/main.js');

export const log = (message) => process.stderr.write(`${message}\n`);

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through bench/run`);
  return value;
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it answers true; a ChildExited from it ends the wait at once. */
async function waitFor(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      if (error instanceof ChildExited) throw error;
    }
    await sleep(200);
  }
  throw new Error(`${what} not up within ${timeoutMs} ms`);
}

class ChildExited extends Error {}

/** A child process whose output is kept (last 20 kB) for the error message if it dies. */
class Child {
  constructor(name, command, args, options) {
    this.name = name;
    this.output = '';
    this.process = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk) => (this.output = (this.output + chunk.toString()).slice(-20_000));
    this.process.stdout.on('data', keep);
    this.process.stderr.on('data', keep);
    this.exited = new Promise((r) => this.process.on('exit', r));
  }

  get running() {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  async stop() {
    if (!this.running) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Starts a private redis-server, the API and `nodes` GPU nodes; `stop()` ends them all and removes
 * the Redis data. `apiEnv` adds to the API's environment.
 */
export async function startStack({ nodes = 1, apiEnv = {} } = {}) {
  const children = [];
  const redisDir = mkdtempSync(join(tmpdir(), 'api-gpu-bench-redis-'));
  const stop = async () => {
    await Promise.all(children.reverse().map((child) => child.stop()));
    rmSync(redisDir, { recursive: true, force: true });
  };
  try {
    const redisPort = await freePort();
    const redis = new Child('redis', 'redis-server', [
      '--bind', '127.0.0.1', '--port', String(redisPort), '--dir', redisDir, '--save', '', '--appendonly', 'no',
    ]);
    children.push(redis);
    await waitFor('redis-server', () => redis.output.includes('Ready to accept connections'), 10_000);

    const s3 = new URL(requireEnv('S3_ENDPOINT_URL'));
    const common = {
      ...process.env,
      ENV_FILE: '/dev/null',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PRIVATE_URL_ALLOWLIST: `${s3.hostname}:${s3.port || 80}`,
      LOG_LEVEL: 'warn',
    };
    const apiPort = await freePort();
    const api = new Child('api', 'node', [API_MAIN], {
      cwd: ROOT,
      env: { ...common, PORT: String(apiPort), HOST: '127.0.0.1', ...apiEnv },
    });
    children.push(api);
    const baseUrl = `http://127.0.0.1:${apiPort}`;

    const nodeHealth = [];
    for (let index = 0; index < nodes; index += 1) {
      const healthPort = await freePort();
      const node = new Child(`gpu-node-${index}`, 'node', [NODE_MAIN], {
        cwd: ROOT,
        env: { ...common, NODE_ID: `bench-node-${index}-${randomUUID().slice(0, 8)}`, NODE_HEALTH_PORT: String(healthPort) },
      });
      children.push(node);
      nodeHealth.push(`http://127.0.0.1:${healthPort}/health`);
    }

    const answers = async (url) => {
      const gone = children.find((child) => !child.running);
      if (gone) throw new ChildExited(`${gone.name} exited:\n${gone.output}`);
      return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
    };
    await waitFor('the API', () => answers(`${baseUrl}/health`), 120_000);
    // A node's health answers 200 once its workers are warm and it takes jobs.
    for (const url of nodeHealth) await waitFor(`GPU node ${url}`, () => answers(url), 240_000);
    for (const child of children) {
      if (!child.running) throw new Error(`${child.name} exited:\n${child.output}`);
    }
    return { baseUrl, redisUrl: common.REDIS_URL, env: common, stop, children };
  } catch (error) {
    for (const child of children) if (!child.running) log(`--- ${child.name} output ---\n${child.output}`);
    await stop();
    throw error;
  }
}

/** Makes a 1-second 320x240 H.264 MP4 and a 1-second AAC file with FFmpeg. */
export function tinyMedia(dir) {
  const video = join(dir, 'video.mp4');
  const audio = join(dir, 'audio.m4a');
  const ffmpeg = (args) => {
    const result = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
    if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr}`);
  };
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-pix_fmt', 'yuv420p', video]);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', '-b:a', '64k', audio]);
  return { video, audio };
}

function testBucket() {
  return new S3Client({
    endpoint: requireEnv('S3_ENDPOINT_URL'),
    region: process.env.S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: requireEnv('S3_ACCESS_KEY'), secretAccessKey: requireEnv('S3_SECRET_KEY') },
  });
}

/** Uploads files to the test bucket under `prefix`; returns their public URLs by name. */
export async function uploadInputs(prefix, files) {
  const endpoint = requireEnv('S3_ENDPOINT_URL');
  const bucket = requireEnv('S3_BUCKET_NAME');
  const s3 = testBucket();
  const publicUrl = process.env.S3_PUBLIC_URL || `${endpoint}/${bucket}`;
  const urls = {};
  try {
    for (const [name, path] of Object.entries(files)) {
      const key = `${prefix}/${path.split('/').pop()}`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(path) }));
      urls[name] = `${publicUrl}/${key}`;
    }
  } finally {
    s3.destroy();
  }
  return urls;
}

/** Removes every object of the test bucket under `prefix`. */
export async function removeObjects(prefix) {
  const bucket = requireEnv('S3_BUCKET_NAME');
  const s3 = testBucket();
  try {
    for (;;) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      const objects = (listed.Contents ?? []).map((object) => ({ Key: object.Key }));
      if (objects.length === 0) return;
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    }
  } finally {
    s3.destroy();
  }
}

export function tempDir(name) {
  return mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), `${name}-`));
}

/** Nearest-rank percentile of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (value) => Math.round(value * 10) / 10;
