import {
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OwnedProcess, REPO_ROOT, freePort, waitFor } from './processes';

const run = promisify(execFile);

// E2E_DIST_DIR runs a copy of the builds, out of reach of a `nest build` that empties dist/ meanwhile.
const DIST_DIR = process.env.E2E_DIST_DIR ?? join(REPO_ROOT, 'dist');
export const API_MAIN = join(DIST_DIR, 'apps/api/main.js');
export const NODE_MAIN = join(DIST_DIR, 'apps/gpu-node/main.js');

/** The test MinIO of `scripts/test-env.sh` (make test starts it), read from the environment. */
export interface TestS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** host:port of the endpoint, to allowlist: MinIO runs on loopback, which URL checks refuse. */
  hostPort: string;
  publicUrl: string;
}

export function testS3(): TestS3 {
  const missing = ['S3_ENDPOINT_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET_NAME'].filter(
    (name) => !process.env[name],
  );
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} unset: run under make test or after \`source scripts/test-env.sh\``);
  }
  const endpoint = process.env.S3_ENDPOINT_URL as string;
  const bucket = process.env.S3_BUCKET_NAME as string;
  return {
    endpoint,
    accessKey: process.env.S3_ACCESS_KEY as string,
    secretKey: process.env.S3_SECRET_KEY as string,
    bucket,
    hostPort: new URL(endpoint).host,
    publicUrl: `${endpoint}/${bucket}`,
  };
}

/** The variables every process of a test deployment shares. */
export function sharedEnv(s3: TestS3, redisUrl: string): NodeJS.ProcessEnv {
  return {
    REDIS_URL: redisUrl,
    S3_ENDPOINT_URL: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET_NAME: s3.bucket,
    PRIVATE_URL_ALLOWLIST: s3.hostPort,
    LOG_LEVEL: 'warn',
    HEARTBEAT_INTERVAL_MS: '500',
    // The RunPod dispatcher's Bull lock: a killed API's RunPod jobs move to another within seconds.
    JOB_LOCK_MS: '5000',
  };
}

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** How an API process is started beyond its variables. */
export interface ApiProcessOptions {
  /** Its X_API_KEY, the first of them the key `call` sends; by default a random key after a second one, as in a key rotation. */
  keys?: string[];
  /** Node's own arguments before the script, e.g. `--import` of a recorder. */
  nodeArgs?: string[];
}

/** The API as a real process on a free port, restartable on the same port. */
export class ApiUnderTest {
  readonly key: string;
  /** X_API_KEY as the process gets it. */
  private readonly keyList: string;
  private process?: OwnedProcess;
  private port = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly options: ApiProcessOptions = {},
  ) {
    this.key = options.keys?.[0] ?? `e2e-key-${Math.random().toString(36).slice(2)}`;
    this.keyList = options.keys?.join(',') ?? `other-key-for-rotation, ${this.key}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get output(): string {
    return this.process?.output ?? '';
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    this.process = new OwnedProcess('node', [...(this.options.nodeArgs ?? []), API_MAIN], {
      ...this.env,
      PORT: String(this.port),
      HOST: '127.0.0.1',
      X_API_KEY: this.keyList,
    }).start();
    await whileRunning(this.process, 'API', () =>
      waitFor(
        'API answering GET /',
        async () => {
          const response = await fetch(`${this.url}/`, { signal: AbortSignal.timeout(2000) });
          return response.ok ? true : undefined;
        },
        60_000,
      ),
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process?.stop(signal);
  }

  /** One HTTP request with the API key in the header unless `key` says otherwise (null: none). */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string; key?: string | null; headers?: Record<string, string> } = {},
  ): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? this.key : options.key;
    if (key !== null) headers['X-API-Key'] = key;
    let payload: string | undefined = options.rawBody;
    if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) headers['Content-Type'] ??= 'application/json';
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(600_000),
    });
    const text = await response.text();
    let body: unknown = undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, headers: response.headers, body: body as T, text };
  }
}

/** A GPU node as a real process (with its warm Python workers), restartable with the same id and health port. */
export class GpuNodeUnderTest {
  private process?: OwnedProcess;
  private healthPort = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly id: string,
    private readonly concurrency = 1,
  ) {}

  /** Its /metrics, on the health port. */
  get metricsUrl(): string {
    return `http://127.0.0.1:${this.healthPort}/metrics`;
  }

  get output(): string {
    return this.process?.output ?? '';
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.healthPort === 0) this.healthPort = await freePort();
    this.process = new OwnedProcess('node', [NODE_MAIN], {
      ...this.env,
      NODE_ID: this.id,
      NODE_CONCURRENCY: String(this.concurrency),
      WORKER_PYTHON: join(REPO_ROOT, '.venv/bin/python'),
      WORKER_DIR: join(REPO_ROOT, 'worker-python'),
      NODE_HEALTH_PORT: String(this.healthPort),
      JOB_LOCK_MS: '5000',
      SHUTDOWN_GRACE_S: '30',
      WHISPER_DEVICE: 'cpu',
      HF_HUB_OFFLINE: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    }).start();
  }

  /** Waits until the node beats with a ready worker, as `api`'s GET /health lists it. */
  async ready(api: ApiUnderTest): Promise<void> {
    const process = this.process;
    if (!process) throw new Error(`node ${this.id} was never started`);
    await whileRunning(process, `node ${this.id}`, () =>
      waitFor(
        `GPU node ${this.id} ready`,
        async () => {
          const { body } = await api.call<{ nodes?: { nodeId: string; encoder?: string | null }[] }>('GET', '/health');
          const entry = body.nodes?.find((n) => n.nodeId === this.id);
          return entry && entry.encoder ? true : undefined;
        },
        240_000,
      ),
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process?.stop(signal);
  }
}

/** Runs `wait`, failing at once with the process's output if the process exits meanwhile. */
async function whileRunning<T>(child: OwnedProcess, name: string, wait: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (!child.running) reject(new Error(`${name} exited:\n${child.output}`));
    }, 200);
  });
  try {
    return await Promise.race([wait(), exited]);
  } finally {
    clearInterval(timer);
  }
}

/** Small media made with FFmpeg and espeak-ng, uploaded under a prefix of the test bucket. */
export class TestMedia {
  readonly dir = mkdtempSync(join(tmpdir(), 'api-gpu-media-'));
  readonly s3Client: S3Client;
  readonly urls: Record<string, string> = {};

  constructor(
    private readonly s3: TestS3,
    readonly prefix: string,
  ) {
    this.s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    });
  }

  /** Makes and uploads the named files; each becomes `urls[name]`, a public URL of the test bucket. */
  async make(names: MediaName[]): Promise<this> {
    for (const name of names) {
      const path = join(this.dir, name);
      await RECIPES[name](path);
      const key = `${this.prefix}inputs/${name}`;
      await this.s3Client.send(new PutObjectCommand({ Bucket: this.s3.bucket, Key: key, Body: readFileSync(path) }));
      this.urls[name] = this.publicUrl(key);
    }
    return this;
  }

  publicUrl(key: string): string {
    return `${this.s3.publicUrl}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3Client.send(new HeadObjectCommand({ Bucket: this.s3.bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  }

  async keysUnder(prefix: string): Promise<string[]> {
    const listed = await this.s3Client.send(new ListObjectsV2Command({ Bucket: this.s3.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key as string);
  }

  async dispose(): Promise<void> {
    const keys = await this.keysUnder(this.prefix).catch(() => []);
    if (keys.length > 0) {
      await this.s3Client
        .send(new DeleteObjectsCommand({ Bucket: this.s3.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }))
        .catch(() => undefined);
    }
    this.s3Client.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const ffmpeg = (...args: string[]) => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

const RECIPES = {
  'video.mp4': (path: string) =>
    ffmpeg(
      '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=24',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000',
      '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', path,
    ),
  'legendas.srt': (path: string) =>
    Promise.resolve(
      writeFileSync(path, '1\n00:00:00,000 --> 00:00:01,500\nOlá! Ação, coração e pão.\n', 'utf8'),
    ),
  'audio.mp3': (path: string) =>
    ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=22050', '-t', '1', '-c:a', 'libmp3lame', path),
  'image.jpg': (path: string) => ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=320x180', '-frames:v', '1', path),
  'image.png': (path: string) => ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=240x240', '-frames:v', '1', path),
  'mudo.mp4': (path: string) =>
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=24', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path),
  'speech.wav': (path: string) =>
    run('espeak-ng', ['-v', 'en', '-s', '140', '-w', path, 'Hello world. This is a short test of the transcription.']),
  'fala.wav': (path: string) =>
    run('espeak-ng', ['-v', 'pt-br', '-s', '130', '-w', path, 'Bom dia a todos. Hoje vamos falar sobre a alimentação.']),
};

/** The media `TestMedia.make` knows how to make. */
export type MediaName = keyof typeof RECIPES;

export interface Probe {
  format: { duration: string; format_name: string; size: string };
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; r_frame_rate?: string }[];
}

/** Downloads `url` (anonymously, as a client would) and probes the file with ffprobe. */
export async function downloadAndProbe(url: string): Promise<Probe> {
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  const dir = mkdtempSync(join(tmpdir(), 'api-gpu-download-'));
  try {
    const path = join(dir, 'download');
    writeFileSync(path, Buffer.from(await response.arrayBuffer()));
    const { stdout } = await run('ffprobe', [
      '-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path,
    ]);
    return JSON.parse(stdout) as Probe;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Downloads a text file a job produced. */
export async function downloadText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.text();
}
