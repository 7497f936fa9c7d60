import { Logger } from '@nestjs/common';
import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  JobOutcome,
  WorkerCapabilities,
  WorkerMessage,
  capabilitiesFrom,
  parseWorkerMessage,
} from './worker-protocol';

const PYTHON_LOG_LEVEL = /^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;

/** The worker process ended (or was killed) while it held a job: an infrastructure failure. */
export class WorkerCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashedError';
  }
}

export interface WorkerLaunch {
  python: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  readyTimeoutMs: number;
}

interface RunningJob {
  id: string;
  onProgress: (percent: number) => void;
  resolve: (outcome: JobOutcome) => void;
  reject: (error: Error) => void;
}

/**
 * One long-lived `python -m api_gpu_worker.local`, running one job at a time. Its stdout carries
 * only protocol lines; its stderr is the worker's log and goes to this node's log.
 */
export class WorkerProcess {
  readonly ready: Promise<WorkerCapabilities>;
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private readonly logger: Logger;
  private running?: RunningJob;
  private exitReason?: string;
  private warmModelsListener: (warmModels: string[]) => void = () => undefined;
  private retiringListener: (reason: string) => void = () => undefined;

  constructor(
    readonly slot: number,
    launch: WorkerLaunch,
  ) {
    this.logger = new Logger(`Worker ${slot}`);
    this.child = spawn(launch.python, ['-m', 'api_gpu_worker.local'], {
      cwd: launch.cwd,
      env: launch.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // A write after the worker died must surface as the crash, not as an unhandled EPIPE.
    this.child.stdin?.on('error', () => undefined);

    let markReady: (capabilities: WorkerCapabilities) => void = () => undefined;
    let failReady: (error: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    // Nobody may be waiting on readiness when the worker dies before it; that is not an error here.
    this.ready.catch(() => undefined);
    const readyTimer = setTimeout(() => {
      failReady(new WorkerCrashedError(`worker not ready within ${launch.readyTimeoutMs} ms`));
      this.kill();
    }, launch.readyTimeoutMs);

    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const message = parseWorkerMessage(line);
      if (!message) {
        this.logger.warn(`not a protocol line on stdout: ${line.slice(0, 200)}`);
        return;
      }
      if (message.type === 'ready') {
        clearTimeout(readyTimer);
        markReady(capabilitiesFrom(message));
        return;
      }
      if (message.type === 'state') {
        if (typeof message.recycling === 'string') this.retiringListener(message.recycling);
        this.warmModelsListener(Array.isArray(message.warm_models) ? message.warm_models : []);
        return;
      }
      this.onJobMessage(message);
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.forwardLog(line));

    this.exited = new Promise((resolve) => {
      const finish = (reason: string) => {
        clearTimeout(readyTimer);
        this.exitReason ??= reason;
        failReady(new WorkerCrashedError(`worker exited before it was ready (${this.exitReason})`));
        const job = this.running;
        this.running = undefined;
        job?.reject(new WorkerCrashedError(`worker died while running the job (${this.exitReason})`));
        resolve();
      };
      this.child.on('error', (error) => finish(`could not start ${launch.python}: ${error.message}`));
      this.child.on('exit', (code, signal) => finish(signal ? `signal ${signal}` : `exit code ${code}`));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Whether the job this worker runs now is `id` (not a later one it has moved on to). */
  isRunning(id: string): boolean {
    return this.running?.id === id;
  }

  /**
   * Runs one job, which the worker stops as timed_out after `deadlineS`; rejects with
   * WorkerCrashedError if the worker dies meanwhile.
   */
  run(
    id: string,
    input: Record<string, unknown>,
    onProgress: (percent: number) => void,
    deadlineS?: number,
  ): Promise<JobOutcome> {
    if (this.exitReason) {
      return Promise.reject(new WorkerCrashedError(`worker had already exited (${this.exitReason})`));
    }
    if (this.running) return Promise.reject(new Error(`worker ${this.slot} is busy`));
    return new Promise<JobOutcome>((resolve, reject) => {
      this.running = { id, onProgress, resolve, reject };
      this.send({ type: 'job', id, input, ...(deadlineS ? { deadline_s: deadlineS } : {}) });
    });
  }

  /** Called with the whisper models the worker holds loaded, each time it tells them (after a job). */
  onWarmModels(listener: (warmModels: string[]) => void): void {
    this.warmModelsListener = listener;
  }

  /** Called when the worker says it will exit after its current job (memory, a stuck model thread). */
  onRetiring(listener: (reason: string) => void): void {
    this.retiringListener = listener;
  }

  cancel(id: string): void {
    this.send({ type: 'cancel', id });
  }

  /** Asks the worker to exit after its current job (EOF on stdin), killing it after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.child.stdin?.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** The worker logs `<time> <LEVEL> <logger>: <message>`; its level is kept in the node's log. */
  private forwardLog(line: string): void {
    if (!line.trim()) return;
    const level = PYTHON_LOG_LEVEL.exec(line)?.[1];
    if (level === 'ERROR' || level === 'CRITICAL') this.logger.error(line);
    else if (level === 'WARNING') this.logger.warn(line);
    else if (level === 'DEBUG') this.logger.debug(line);
    else this.logger.log(line);
  }

  private send(message: Record<string, unknown>): void {
    if (this.child.stdin?.writable) this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  private onJobMessage(message: Exclude<WorkerMessage, { type: 'ready' | 'state' }>): void {
    const job = this.running;
    if (!job || job.id !== message.id) {
      this.logger.warn(`${message.type} for job ${message.id}, which this worker is not running`);
      return;
    }
    switch (message.type) {
      case 'progress':
        job.onProgress(message.percent);
        return;
      case 'result':
        this.running = undefined;
        job.resolve({ kind: 'result', output: message.output });
        return;
      case 'error':
        this.running = undefined;
        job.resolve({ kind: 'error', error: message.error });
        return;
      case 'cancelled':
        this.running = undefined;
        job.resolve({ kind: 'cancelled' });
        return;
    }
  }
}
