import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { WorkerCapabilities } from './worker-protocol';
import { WorkerLaunch, WorkerProcess } from './worker-process';

/** The repository root, from dist/apps/gpu-node/main.js or apps/gpu-node/src/worker/. */
function repositoryRoot(): string {
  const fromDist = resolve(__dirname, '../../..');
  return existsSync(resolve(fromDist, 'worker-python')) ? fromDist : resolve(__dirname, '../../../..');
}

const RESTART_DELAY_MIN_MS = 500;
const RESTART_DELAY_MAX_MS = 30_000;
/** How long a worker may take to finish its job and exit once its stdin is closed. */
const WORKER_STOP_GRACE_MS = 5_000;

/** One slot: a worker process, replaced whenever it dies, and whether a job holds it. */
export interface WorkerSlot {
  readonly index: number;
  worker?: WorkerProcess;
  capabilities?: WorkerCapabilities;
  held: boolean;
}

/**
 * NODE_CONCURRENCY warm workers, one per slot. A slot is free when its worker is ready and no
 * job holds it; a worker that dies is started again (with a growing delay if it keeps dying).
 */
@Injectable()
export class WorkerPool implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerPool.name);
  private readonly slots: WorkerSlot[];
  private readonly launch: WorkerLaunch;
  private readonly waiters: ((slot: WorkerSlot) => void)[] = [];
  private readonly listeners: (() => void)[] = [];
  private stopping = false;

  constructor(config: ConfigService<GpuNodeEnv, true>) {
    const root = repositoryRoot();
    this.launch = {
      python: config.get('WORKER_PYTHON', { infer: true }) ?? resolve(root, '.venv/bin/python'),
      cwd: config.get('WORKER_DIR', { infer: true }) ?? resolve(root, 'worker-python'),
      // The worker reads S3_*, WHISPER_*, FFMPEG_ENCODER, PRIVATE_URL_ALLOWLIST and the rest of
      // its settings from the same environment (and .env) as the node.
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      readyTimeoutMs: config.get('WORKER_READY_TIMEOUT_S', { infer: true }) * 1000,
    };
    const count = config.get('NODE_CONCURRENCY', { infer: true });
    this.slots = Array.from({ length: count }, (_, index) => ({ index, held: false }));
  }

  get size(): number {
    return this.slots.length;
  }

  get freeSlots(): number {
    return this.slots.filter((slot) => this.isFree(slot)).length;
  }

  get readyWorkers(): number {
    return this.slots.filter((slot) => slot.capabilities).length;
  }

  /** What the ready workers report: they share one machine, so the first one speaks for all. */
  get capabilities(): WorkerCapabilities | undefined {
    const ready = this.slots.filter((slot) => slot.capabilities);
    if (ready.length === 0) return undefined;
    const warm = new Set(ready.flatMap((slot) => slot.capabilities!.warmModels));
    return { ...ready[0].capabilities!, warmModels: [...warm].sort() };
  }

  /** Called whenever the number of free slots may have changed. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  onApplicationBootstrap(): void {
    this.logger.log(`starting ${this.slots.length} worker(s): ${this.launch.python} -m api_gpu_worker.local`);
    for (const slot of this.slots) this.startWorker(slot, 0);
  }

  /** Waits for a free slot and holds it for one job. */
  acquire(): Promise<WorkerSlot> {
    const free = this.slots.find((slot) => this.isFree(slot));
    if (free) return Promise.resolve(this.hold(free));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(slot: WorkerSlot): void {
    slot.held = false;
    this.handOver(slot);
  }

  /** Ends every worker: each finishes its job (if any) within a few seconds, or is killed. */
  async onApplicationShutdown(): Promise<void> {
    await this.stopAll(WORKER_STOP_GRACE_MS);
  }

  async stopAll(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((slot) => slot.worker?.stop(graceMs) ?? Promise.resolve()));
  }

  private isFree(slot: WorkerSlot): boolean {
    return !slot.held && slot.capabilities !== undefined && !this.stopping;
  }

  private hold(slot: WorkerSlot): WorkerSlot {
    slot.held = true;
    this.notify();
    return slot;
  }

  private handOver(slot: WorkerSlot): void {
    if (this.isFree(slot)) {
      const waiter = this.waiters.shift();
      if (waiter) waiter(this.hold(slot));
    }
    this.notify();
  }

  private startWorker(slot: WorkerSlot, failures: number): void {
    if (this.stopping) return;
    const worker = new WorkerProcess(slot.index, this.launch);
    slot.worker = worker;
    slot.capabilities = undefined;
    let becameReady = false;
    worker.onWarmModels((warmModels) => {
      if (slot.worker !== worker || !slot.capabilities) return;
      slot.capabilities = { ...slot.capabilities, warmModels };
      this.notify();
    });
    worker.onRetiring((reason) => {
      if (slot.worker !== worker) return;
      // Not free from now on: the job it finishes must not be followed by another on this process.
      slot.capabilities = undefined;
      this.logger.warn(`worker ${slot.index} (pid ${worker.pid}) will be replaced after its job: ${reason}`);
      this.notify();
    });
    worker.ready.then(
      (capabilities) => {
        becameReady = true;
        slot.capabilities = capabilities;
        this.logger.log(
          `worker ${slot.index} ready (pid ${capabilities.pid}, ${capabilities.encoder}, whisper on ${capabilities.whisperDevice})`,
        );
        this.handOver(slot);
      },
      (error: Error) => this.logger.warn(`worker ${slot.index}: ${error.message}`),
    );
    void worker.exited.then(() => {
      slot.capabilities = undefined;
      this.notify();
      if (this.stopping) return;
      const attempt = becameReady ? 0 : failures + 1;
      const delay = Math.min(RESTART_DELAY_MIN_MS * 2 ** attempt, RESTART_DELAY_MAX_MS);
      this.logger.warn(`worker ${slot.index} (pid ${worker.pid}) exited; starting a new one in ${delay} ms`);
      setTimeout(() => this.startWorker(slot, attempt), delay).unref();
    });
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
