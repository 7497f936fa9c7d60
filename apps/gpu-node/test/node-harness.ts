import { CreateBucketCommand, ListObjectsV2Command, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import {
  BULL_PREFIX,
  JOB_EVENTS_CHANNEL,
  JOB_QUEUES,
  JobEvent,
  JobOperation,
  JobRecord,
  JobStatus,
  JobStore,
  NodeHeartbeat,
  nodeHeartbeatKey,
  parseJobEvent,
} from '@app/common';
import Queue from 'bull';
import Redis from 'ioredis';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnedProcess, REPO_ROOT, TestMinio, TestRedis, freePort, waitFor } from '../../../test/support/processes';

export const NODE_MAIN = join(REPO_ROOT, 'dist/apps/gpu-node/main.js');
export const BUCKET = 'gpu-node-e2e';

/** Media made once with FFmpeg's lavfi sources: tiny, so the 2 shared cores barely notice. */
function makeMedia(dir: string): Record<string, Buffer> {
  const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc=size=128x72:rate=10', '-t', '2',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart',
    join(dir, 'video.mp4'),
  ]);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-ac', '1', '-ar', '16000', join(dir, 'audio.wav')]);
  execFileSync('espeak-ng', ['-v', 'en-us', '-w', join(dir, 'speech.wav'), 'Good morning.']);
  return {
    '/speech.wav': readFileSync(join(dir, 'speech.wav')),
    '/video.mp4': readFileSync(join(dir, 'video.mp4')),
    '/audio.wav': readFileSync(join(dir, 'audio.wav')),
    '/not-a-video.mp4': Buffer.from('this is text, not an MP4 file\n'),
    '/legenda.srt': Buffer.from('1\n00:00:00,000 --> 00:00:01,500\nAção, coração e pão de açúcar\n'),
  };
}

/**
 * Serves the test media over HTTP; `/held/<tag>/<file>` is `<file>` under a name of its own. A held path sends half its bytes, then waits until the test
 * releases it: a job downloading it is reliably "mid-job" for as long as the test needs.
 */
export class MediaServer {
  readonly requests: string[] = [];
  /** Held responses whose client went away before the rest was sent (a cancelled download). */
  readonly abandoned: string[] = [];
  private readonly files: Record<string, Buffer>;
  private readonly held = new Map<string, (() => void)[]>();
  private readonly holding = new Set<string>();
  private server?: Server;

  constructor(private readonly dir: string) {
    this.files = makeMedia(dir);
  }

  get authority(): string {
    return `127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  url(path: string): string {
    return `http://${this.authority}${path}`;
  }

  hold(path: string): void {
    this.holding.add(path);
  }

  release(path: string): void {
    this.holding.delete(path);
    for (const resume of this.held.get(path)?.splice(0) ?? []) resume();
  }

  requestsFor(path: string): number {
    return this.requests.filter((p) => p === path).length;
  }

  /** Resolves once `path` has been asked for. */
  requested(path: string): Promise<true> {
    return waitFor(`a request for ${path}`, () => Promise.resolve(this.requestsFor(path) > 0 || undefined));
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => this.answer(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const path of [...this.holding]) this.release(path);
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    this.requests.push(path);
    const body = this.files[path.replace(/^\/held\/[^/]+/, '')];
    if (!body) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    if (!this.holding.has(path)) {
      response.end(body);
      return;
    }
    const half = Math.floor(body.length / 2);
    response.write(body.subarray(0, half));
    let finished = false;
    response.on('close', () => {
      if (!finished) this.abandoned.push(path);
    });
    const resume = () => {
      finished = true;
      response.end(body.subarray(half));
    };
    this.held.set(path, [...(this.held.get(path) ?? []), resume]);
  }
}

export interface QueueOptions {
  attempts?: number;
  webhookUrl?: string;
}

/** Redis, MinIO, the media server, and helpers to queue jobs the way the API does. */
export class Harness {
  redis!: TestRedis;
  minio!: TestMinio;
  media!: MediaServer;
  client!: Redis;
  store!: JobStore;
  s3!: S3Client;
  workerTmp!: string;
  private readonly queues = new Map<string, Queue.Queue>();
  private readonly nodes: NodeProcess[] = [];

  async start(): Promise<void> {
    this.redis = await TestRedis.create();
    this.minio = await TestMinio.create();
    this.media = new MediaServer(mkdtempSync(join(tmpdir(), 'gpu-node-media-')));
    this.workerTmp = mkdtempSync(join(tmpdir(), 'gpu-node-worker-'));
    await Promise.all([this.redis.start(), this.minio.start(), this.media.start()]);
    this.client = new Redis(this.redis.url);
    this.store = new JobStore(this.client);
    this.s3 = new S3Client({
      endpoint: this.minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: this.minio.accessKey, secretAccessKey: this.minio.secretKey },
    });
    await this.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    // Clients read results anonymously, as from the local MinIO of make up.
    await this.s3.send(
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/*`] },
          ],
        }),
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.client?.disconnect();
    this.s3?.destroy();
    await this.media?.stop();
    await Promise.all([this.redis?.dispose(), this.minio?.dispose()]);
    rmSync(this.workerTmp, { recursive: true, force: true });
  }

  async startNode(nodeId: string, extra: NodeJS.ProcessEnv = {}): Promise<NodeProcess> {
    const port = await freePort();
    const node = new NodeProcess(nodeId, port, { ...this.nodeEnv(nodeId, port), ...extra });
    this.nodes.push(node);
    await node.start();
    return node;
  }

  /** The environment of a node of this harness: tiny lock and heartbeat periods, the test services. */
  nodeEnv(nodeId: string, healthPort: number): NodeJS.ProcessEnv {
    return {
      NODE_ID: nodeId,
      NODE_HEALTH_PORT: String(healthPort),
      NODE_CONCURRENCY: '1',
      HEARTBEAT_INTERVAL_MS: '300',
      JOB_LOCK_MS: '2000',
      LOG_LEVEL: 'info',
      REDIS_URL: this.redis.url,
      S3_ENDPOINT_URL: this.minio.endpoint,
      S3_ACCESS_KEY: this.minio.accessKey,
      S3_SECRET_KEY: this.minio.secretKey,
      S3_BUCKET_NAME: BUCKET,
      PRIVATE_URL_ALLOWLIST: this.media.authority,
      WORKER_TMP_DIR: this.workerTmp,
      HF_HUB_OFFLINE: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    };
  }

  queue(name: string): Queue.Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, this.redis.url, { prefix: BULL_PREFIX });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Every job event announced from now on, in the order heard, until `stop`. */
  async listenToJobEvents(): Promise<{ events: JobEvent[]; stop: () => void }> {
    const subscriber = this.client.duplicate();
    const events: JobEvent[] = [];
    subscriber.on('message', (_channel: string, message: string) => {
      const event = parseJobEvent(message);
      if (event) events.push(event);
    });
    await subscriber.subscribe(JOB_EVENTS_CHANNEL);
    return { events, stop: () => subscriber.disconnect() };
  }

  queueAddAudio(input: Record<string, unknown>, options: QueueOptions = {}): Promise<string> {
    return this.queueJob(JobOperation.AddAudio, input, options);
  }

  /** Creates the record and queues the Bull job, as the API's submission does. */
  async queueJob(operation: JobOperation, input: Record<string, unknown>, options: QueueOptions = {}): Promise<string> {
    const record: JobRecord = {
      id: randomUUID(),
      operation,
      status: JobStatus.InQueue,
      input,
      executor: 'local',
      progress: 0,
      createdAt: new Date().toISOString(),
      ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
    };
    await this.store.create(record);
    await this.queue(JOB_QUEUES[operation]).add(
      { jobId: record.id },
      {
        jobId: record.id,
        attempts: options.attempts ?? 3,
        backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 3600 },
      },
    );
    return record.id;
  }

  async record(jobId: string): Promise<JobRecord> {
    const record = await this.store.get(jobId);
    if (!record) throw new Error(`job ${jobId} has no record`);
    return record;
  }

  waitForStatus(jobId: string, statuses: JobStatus[], timeoutMs = 60_000): Promise<JobRecord> {
    return waitFor(
      `job ${jobId} in ${statuses.join('/')}`,
      async () => {
        const record = await this.store.get(jobId);
        return record && statuses.includes(record.status) ? record : undefined;
      },
      timeoutMs,
    );
  }

  async bullState(
    jobId: string,
    queue = 'addaudio',
  ): Promise<{ state: string; attemptsMade: number; returnvalue: unknown; progress: unknown }> {
    const job = await this.queue(queue).getJob(jobId);
    if (!job) throw new Error(`no Bull job ${jobId}`);
    return {
      state: await job.getState(),
      attemptsMade: job.attemptsMade,
      returnvalue: job.returnvalue,
      progress: job.progress() as unknown,
    };
  }

  async heartbeat(nodeId: string): Promise<NodeHeartbeat | null> {
    const value = await this.client.get(nodeHeartbeatKey(nodeId));
    return value ? (JSON.parse(value) as NodeHeartbeat) : null;
  }

  async objectKeys(prefix: string): Promise<string[]> {
    const listed = await this.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!);
  }
}

/** A GPU node process with its own health port. */
export class NodeProcess {
  private readonly process: OwnedProcess;

  constructor(
    readonly nodeId: string,
    readonly healthPort: number,
    env: NodeJS.ProcessEnv,
  ) {
    this.process = new OwnedProcess('node', [NODE_MAIN], env);
  }

  get output(): string {
    return this.process.output;
  }

  get running(): boolean {
    return this.process.running;
  }

  async start(): Promise<void> {
    this.process.start();
    let outcome: 'healthy' | 'exited';
    try {
      outcome = await waitFor(
        `node ${this.nodeId} healthy`,
        async () => {
          if (!this.running) return 'exited';
          return (await this.health()).code === 200 ? 'healthy' : undefined;
        },
        90_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; its output:\n${this.output.slice(-3000)}`);
    }
    if (outcome === 'exited') throw new Error(`node ${this.nodeId} exited at start:\n${this.output.slice(-3000)}`);
  }

  async health(): Promise<{ code: number; body: Record<string, unknown> }> {
    const response = await fetch(`http://127.0.0.1:${this.healthPort}/health`, { signal: AbortSignal.timeout(5000) });
    return { code: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Process ids of the node's workers, from its log, so a SIGKILLed node's orphans can be ended. */
  workerPids(): number[] {
    return [...this.output.matchAll(/worker \d+ ready \(pid (\d+)/g)].map((match) => Number(match[1]));
  }

  /** Sends a signal without waiting for the exit (the node's pid is in its heartbeat). */
  signal(signal: NodeJS.Signals, pid: number): void {
    process.kill(pid, signal);
  }

  exitCode(timeoutMs: number): Promise<number | null | undefined> {
    return this.process.exitCode(timeoutMs);
  }

  async kill(): Promise<void> {
    await this.process.stop('SIGKILL');
    for (const pid of this.workerPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone: the worker exits by itself once its stdin closes.
      }
    }
  }
}
