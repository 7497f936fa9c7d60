import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { JobStore } from '@app/common';
import Redis from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiProcessOptions, ApiUnderTest, GpuNodeUnderTest, MediaName, TestMedia, TestS3, sharedEnv, testS3 } from './api-e2e';
import { FakeRunPod } from './fake-runpod/fake-runpod';
import { TestMinio, TestRedis, waitFor } from './processes';

/** The bucket of a deployment's own MinIO unless `bucket` names another. */
const OWN_MINIO_BUCKET = 'api-gpu-test';

/** A GPU node of a deployment: its id, its own variables over the deployment's, its slots. */
export interface NodeOptions {
  id: string;
  env?: NodeJS.ProcessEnv;
  concurrency?: number;
}

export interface DeploymentOptions {
  /** Names the spec's objects in the test bucket: they live under `${name}-${Date.now()}/`. */
  name: string;
  /** Media to make and upload (`deployment.media.urls[name]`) before the API starts. */
  media?: MediaName[];
  /** AOF on, so that jobs outlive a restart of the deployment's Redis. */
  persistentRedis?: boolean;
  /**
   * Another bucket of the test MinIO instead of the shared one, created if missing; `remove`: emptied
   * and removed by `stop` (a bucket other specs may use at the same time is left as it is).
   */
  bucket?: { name: string; remove?: boolean };
  /** A MinIO server of the deployment's own instead of the test MinIO, for a spec that stops it under the API. */
  ownMinio?: boolean;
  /** Variables of every process: the API and the nodes alike. */
  env?: NodeJS.ProcessEnv;
  /** The API's own variables, over `env`; false: the spec starts its APIs itself with `startApi`. */
  api?: NodeJS.ProcessEnv | false;
  /** How that API process is started: its keys, Node's arguments. */
  apiProcess?: ApiProcessOptions;
  /** The GPU nodes, each ready (its worker warm, listed by GET /health) before the deployment is returned. */
  nodes?: (string | NodeOptions)[];
  /** The RunPod stand-in; every API of the deployment is pointed at it unless its variables say otherwise. */
  runpod?: boolean | { stockEndpoints?: string[]; workers?: number };
}

/**
 * One test deployment as `make up` runs it, each part a real process: a Redis of its own (so specs
 * never see each other's keys), the test MinIO, the API, GPU nodes with warm Python workers and,
 * where asked, the RunPod stand-in. `stop` ends whatever was started, in reverse order.
 */
export class Deployment {
  readonly s3: TestS3;
  readonly redis: TestRedis;
  private readonly ownMinioServer?: TestMinio;
  readonly media: TestMedia;
  /** A Redis client of the spec's own, to read what the processes wrote. */
  readonly client: Redis;
  readonly store: JobStore;
  /** The directory every node's worker writes its temporary files to. */
  readonly workerTmp = mkdtempSync(join(tmpdir(), 'api-gpu-worker-tmp-'));
  /** The variables every process of the deployment shares. */
  readonly env: NodeJS.ProcessEnv;
  private runpodStandIn?: FakeRunPod;
  private mainApi?: ApiUnderTest;
  private readonly apis: ApiUnderTest[] = [];
  private readonly startedNodes = new Map<string, GpuNodeUnderTest>();

  private constructor(
    private readonly options: DeploymentOptions,
    s3: TestS3,
    redis: TestRedis,
    minio?: TestMinio,
  ) {
    this.s3 = s3;
    this.redis = redis;
    this.ownMinioServer = minio;
    this.media = new TestMedia(s3, `${options.name}-${Date.now()}/`);
    this.client = new Redis(redis.url);
    this.store = new JobStore(this.client);
    this.env = { ...sharedEnv(s3, redis.url), ...options.env };
  }

  /** The API the options described or, with `api: false`, the first one the spec started. */
  get api(): ApiUnderTest {
    const api = this.mainApi ?? this.apis[0];
    if (!api) throw new Error('this deployment has no API yet (api: false)');
    return api;
  }

  /** The first node, for the many specs that have one. */
  get node(): GpuNodeUnderTest {
    const [first] = this.startedNodes.values();
    if (!first) throw new Error('this deployment has no GPU node');
    return first;
  }

  get nodes(): GpuNodeUnderTest[] {
    return [...this.startedNodes.values()];
  }

  /** Until every node of the deployment has all its slots free, as GET /health lists them. */
  untilNodesIdle(timeoutMs = 120_000): Promise<true> {
    const ids = this.nodes.map((node) => node.id);
    return waitFor(
      `nodes ${ids.join(', ')} idle`,
      async () => {
        const { body } = await this.api.call<{ nodes?: { nodeId: string; freeSlots: number; slots: number }[] }>('GET', '/health');
        const ours = (body.nodes ?? []).filter((node) => ids.includes(node.nodeId));
        return ours.length === ids.length && ours.every((node) => node.freeSlots === node.slots) ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** The deployment's own MinIO server, to stop and start under the API. */
  get minio(): TestMinio {
    if (!this.ownMinioServer) throw new Error('this deployment uses the shared test MinIO (ownMinio: true for one of its own)');
    return this.ownMinioServer;
  }

  get runpod(): FakeRunPod {
    if (!this.runpodStandIn) throw new Error('this deployment was started without the RunPod stand-in (runpod: true)');
    return this.runpodStandIn;
  }

  /** The variables that point an API at the RunPod stand-in, if the deployment has it. */
  get runpodEnv(): NodeJS.ProcessEnv {
    const runpod = this.runpodStandIn;
    return runpod ? { RUNPOD_API_KEY: runpod.apiKey, RUNPOD_ENDPOINT_ID: 'api-gpu-worker', RUNPOD_API_BASE: runpod.base } : {};
  }

  /**
   * An API process (not started) with `env` over the deployment's variables, pointed at the RunPod
   * stand-in if there is one and `options.runpod` is not false; `stop` stops it.
   */
  newApi(env: NodeJS.ProcessEnv = {}, options: ApiProcessOptions & { runpod?: boolean } = {}): ApiUnderTest {
    const { runpod = true, ...process } = options;
    const api = new ApiUnderTest({ ...this.env, ...(runpod ? this.runpodEnv : {}), ...env }, process);
    this.apis.push(api);
    return api;
  }

  /** Another API process, answering before it is returned. */
  async startApi(env: NodeJS.ProcessEnv = {}, options: ApiProcessOptions & { runpod?: boolean } = {}): Promise<ApiUnderTest> {
    const api = this.newApi(env, options);
    await api.start();
    return api;
  }

  /**
   * A GPU node with `options.env` over the deployment's variables, ready (its worker warm, listed by
   * GET /health) before it is returned unless `waitReady` is false.
   */
  async startNode(options: string | NodeOptions, { waitReady = true } = {}): Promise<GpuNodeUnderTest> {
    const node = await this.launchNode(options);
    if (waitReady) await node.ready(this.api);
    return node;
  }

  private async launchNode(options: string | NodeOptions): Promise<GpuNodeUnderTest> {
    const { id, env, concurrency } = typeof options === 'string' ? { id: options } : options;
    const node = new GpuNodeUnderTest({ ...this.env, WORKER_TMP_DIR: this.workerTmp, ...env }, id, concurrency ?? 1);
    this.startedNodes.set(id, node);
    await node.start();
    return node;
  }

  private async createBucket(name: string): Promise<void> {
    const client = this.bucketClient();
    await client
      .send(new CreateBucketCommand({ Bucket: name }))
      .catch((error: { name?: string }) => {
        if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
      })
      .finally(() => client.destroy());
  }

  /** A client of its own: the media's is gone by the time the emptied bucket is removed. */
  private bucketClient(): S3Client {
    return new S3Client({
      endpoint: this.s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: this.s3.accessKey, secretAccessKey: this.s3.secretKey },
    });
  }

  static async start(options: DeploymentOptions): Promise<Deployment> {
    const minio = options.ownMinio ? await TestMinio.create() : undefined;
    const server = minio
      ? { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: OWN_MINIO_BUCKET, hostPort: new URL(minio.endpoint).host }
      : testS3();
    const bucket = options.bucket?.name ?? server.bucket;
    const s3 = { ...server, bucket, publicUrl: `${server.endpoint}/${bucket}` };
    const redis = await TestRedis.create({ persistent: options.persistentRedis ?? false });
    const deployment = new Deployment(options, s3, redis, minio);
    try {
      await deployment.startParts();
    } catch (error) {
      await deployment.stop();
      throw error;
    }
    return deployment;
  }

  private async startParts(): Promise<void> {
    const { options } = this;
    await this.ownMinioServer?.start();
    if (this.ownMinioServer || options.bucket) await this.createBucket(this.s3.bucket);
    await this.redis.start();
    await this.media.make(options.media ?? []);
    if (options.runpod) {
      const settings = options.runpod === true ? {} : options.runpod;
      this.runpodStandIn = new FakeRunPod(this.s3, settings.stockEndpoints ?? []);
      await this.runpodStandIn.start();
      if (settings.workers !== undefined) await this.runpodStandIn.settings({ workers: settings.workers });
    }
    if (options.api === false) return;
    this.mainApi = await this.startApi(options.api ?? {}, options.apiProcess);
    // Started side by side: their workers warm up at the same time.
    const nodes = await Promise.all((options.nodes ?? []).map((node) => this.launchNode(node)));
    await Promise.all(nodes.map((node) => node.ready(this.api)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    for (const api of this.apis) await api.stop();
    await this.runpodStandIn?.stop();
    this.client.disconnect();
    await this.redis.dispose();
    await this.media.dispose();
    if (this.options.bucket?.remove) {
      const client = this.bucketClient();
      await client.send(new DeleteBucketCommand({ Bucket: this.options.bucket.name })).catch(() => undefined);
      client.destroy();
    }
    await this.ownMinioServer?.dispose();
    rmSync(this.workerTmp, { recursive: true, force: true });
  }
}

/** Starts a deployment as `options` describe; call `stop()` on it in `afterAll`. */
export function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  return Deployment.start(options);
}
