import { JobEnder, JobFailure, JobRecord, JobStatus, JobStore, QueuedJobData, TIMED_OUT_CODE, errorReason, isTerminal } from '@app/common';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Job, Queue } from 'bull';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { NodeState } from '../lifecycle/node-state.service';
import { WorkerPool, WorkerSlot } from '../worker/worker-pool.service';
import { JobOutcome } from '../worker/worker-protocol';
import { RetryableWorkerError, failureFromInfrastructure, failureFromWorker } from './job-failure';
import { Backstop, JobDeadlines } from './job-deadlines.service';
import { storedError } from './stored-error';
import { WarmPreference } from './warm-preference.service';

/** The four job queues this node consumes. */
export const JOB_QUEUE_LIST = Symbol('JOB_QUEUE_LIST');

/** Progress reaches the record at most this often. */
const PROGRESS_INTERVAL_MS = 500;
/** A worker that has not confirmed a cancel by then is killed (the promise is 5 s end to end). */
const CANCEL_CONFIRM_MS = 4_000;
/** How long a transcription left to a node with its model warm waits before it is offered again. */
const WARM_DECLINE_DELAY_MS = 500;
/** Bull's own message when a job exceeded maxStalledCount. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/**
 * Bull 4's Job#moveToDelayed, left out of its type definitions. It rejects when the job is gone or
 * its lock is missing (nothing moved), and resolves when it moved the job, or found it no longer
 * active or locked by another node.
 */
type DelayableJob = Job<QueuedJobData> & { moveToDelayed(timestamp: number): Promise<void> };

/** What the processor returns to Bull, kept as the job's return value. */
export type ProcessedJob =
  | { status: typeof JobStatus.Completed | typeof JobStatus.Failed }
  | { skipped: string }
  | { cancelled: true }
  | { leftTo: string };

interface ActiveJob {
  id: string;
  job: Job<QueuedJobData>;
  slot?: WorkerSlot;
  running: boolean;
  cancelRequested: boolean;
  handedBack: boolean;
  progress?: ProgressForwarder;
  deadlineS?: number;
  backstop?: Backstop;
}

/**
 * Passes the worker's progress on at most every PROGRESS_INTERVAL_MS, rising only: a value that
 * arrives too early is sent when the interval is over, unless the job has ended by then (100 is
 * left to the completion itself).
 */
class ProgressForwarder {
  private lastSentAt = 0;
  private sent = 0;
  private pending?: number;
  private timer?: NodeJS.Timeout;

  constructor(private readonly send: (percent: number) => void) {}

  report(percent: number): void {
    const value = Math.min(99, Math.round(percent * 10) / 10);
    if (!(value > this.sent) || (this.pending !== undefined && value <= this.pending)) return;
    this.pending = value;
    const wait = this.lastSentAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending === undefined) return;
    this.sent = this.pending;
    this.pending = undefined;
    this.lastSentAt = Date.now();
    this.send(this.sent);
  }
}

/**
 * Consumes the four job queues with NODE_CONCURRENCY slots shared between them. Each queue runs
 * NODE_CONCURRENCY Bull loops, and every queue is paused locally (its blocking fetch aborted)
 * whenever no slot is free, so the node does not take jobs it cannot start: another node gets
 * them. A job fetched in the instant the last slot was taken waits for the next free slot with
 * its lock renewed; it is only delayed, never lost.
 */
@Injectable()
export class JobProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(JobProcessor.name);
  private readonly active = new Map<string, ActiveJob>();
  private readonly slots: number;
  private intakeOpen = true;
  private intakeClosedForGood = false;
  private intakeChange: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];

  constructor(
    @Inject(JOB_QUEUE_LIST) private readonly queues: Queue<QueuedJobData>[],
    config: ConfigService<GpuNodeEnv, true>,
    private readonly store: JobStore,
    private readonly ender: JobEnder,
    private readonly pool: WorkerPool,
    private readonly state: NodeState,
    private readonly warmPreference: WarmPreference,
    private readonly deadlines: JobDeadlines,
  ) {
    this.slots = config.get('NODE_CONCURRENCY', { infer: true });
  }

  get runningJobs(): number {
    return this.active.size;
  }

  async onApplicationBootstrap(): Promise<void> {
    // Closed until a worker is ready: a node whose workers cannot start takes nothing.
    await this.setIntake(false);
    for (const queue of this.queues) {
      queue.on('failed', (job: Job<QueuedJobData>, error: Error) => void this.onBullFailure(queue, job, error));
      queue.on('error', (error: Error) => this.logger.warn(`queue ${queue.name}: ${error.message}`));
      void queue.process('*', this.slots, (job: Job<QueuedJobData>) => this.process(queue, job));
    }
    this.pool.onChange(() => void this.updateIntake());
    this.state.onDraining(() => void this.updateIntake());
    await this.updateIntake();
  }

  /** Asks the worker running `jobId` on this node, if any, to stop it. */
  cancel(jobId: string): void {
    const entry = this.active.get(jobId);
    if (!entry || entry.cancelRequested) return;
    entry.cancelRequested = true;
    if (entry.running && entry.slot?.worker) this.stopOnWorker(entry, entry.slot);
  }

  /** Resolves once no job runs here, or after `timeoutMs`; tells how many are still running. */
  async whenIdle(timeoutMs: number): Promise<number> {
    if (this.active.size === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.active.size;
  }

  /**
   * Gives every job still here back to the queue without spending an attempt: its record returns
   * to IN_QUEUE, its lock is released so Bull's stalled-job check on any node requeues it, and
   * its worker is told to cancel (removing temp files and uploaded objects). The Bull handlers of
   * these jobs never settle: the process exits.
   */
  async handBack(): Promise<string[]> {
    const ids: string[] = [];
    for (const entry of this.active.values()) {
      entry.handedBack = true;
      ids.push(entry.id);
      await entry.job.releaseLock().catch(() => undefined);
      await this.store.updateActive(entry.id, { status: JobStatus.InQueue, progress: 0 }).catch(() => undefined);
      if (entry.running) entry.slot?.worker?.cancel(entry.id);
    }
    return ids;
  }

  private async process(queue: Queue<QueuedJobData>, job: Job<QueuedJobData>): Promise<ProcessedJob> {
    const jobId = job.data?.jobId ?? String(job.id);
    if (this.active.has(jobId)) return { skipped: 'already running on this node' };
    const entry: ActiveJob = { id: jobId, job, running: false, cancelRequested: false, handedBack: false };
    this.active.set(jobId, entry);
    try {
      const warmer = await this.leaveToWarmerNode(job, jobId);
      if (warmer) return { leftTo: warmer };
      const slot = await this.pool.acquire();
      entry.slot = slot;
      try {
        return await this.runOnSlot(entry, slot);
      } finally {
        if (!entry.handedBack) this.pool.release(slot);
      }
    } catch (error) {
      if (entry.handedBack) return never();
      throw storedError(error);
    } finally {
      if (!entry.handedBack) {
        this.active.delete(jobId);
        if (this.active.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
      this.logger.debug(`queue ${queue.name}: job ${jobId} left this node`);
    }
  }

  /**
   * Leaves a transcription whose model this node has not loaded to a live node that has it loaded
   * and a free slot: the job goes back to Bull's delayed set for WARM_DECLINE_DELAY_MS, its record
   * still IN_QUEUE and no attempt spent, and the next node to fetch it runs it. Bull 4 gives a
   * processor no way to reschedule its own job (BullMQ's DelayedError does), so the job is moved
   * here and Bull's completion of it, which would find it no longer active, is skipped for this
   * job alone. A failure before the job has left runs it here instead.
   */
  private async leaveToWarmerNode(job: Job<QueuedJobData>, jobId: string): Promise<string | null> {
    let warmer: string | null;
    try {
      const record = await this.store.get(jobId);
      if (!record || isTerminal(record.status)) return null;
      const declines = job.data.warmDeclines ?? 0;
      warmer = await this.warmPreference.warmerNode(record, declines);
      if (!warmer) return null;
      await job.update({ ...job.data, warmDeclines: declines + 1 });
      await (job as DelayableJob).moveToDelayed(Date.now() + WARM_DECLINE_DELAY_MS);
    } catch (error) {
      this.logger.warn(`job ${jobId}: runs here, not left to a warmer node (${errorReason(error)})`);
      return null;
    }
    // Once Bull's move has answered without an error the job is no longer this node's: moved, or
    // (Bull resolves these too) already locked by another node or back in the queue.
    job.moveToCompleted = () => Promise.resolve(null);
    this.logger.log(`job ${jobId}: left to node ${warmer}, which has its whisper model loaded`);
    return warmer;
  }

  private async runOnSlot(entry: ActiveJob, slot: WorkerSlot): Promise<ProcessedJob> {
    const { id, job } = entry;
    const record = await this.store.get(id);
    if (!record) {
      this.logger.warn(`job ${id} has no record (expired or removed); not run`);
      return { skipped: 'no record' };
    }
    if (isTerminal(record.status) || entry.cancelRequested) return { skipped: record.status };
    const started = await this.store.updateActive(id, {
      status: JobStatus.InProgress,
      startedAt: new Date().toISOString(),
      node: this.state.nodeId,
      progress: 0,
    });
    if (started !== 'applied') return { skipped: `record ${started}` };

    let outcome: JobOutcome;
    try {
      outcome = await this.runOnWorker(entry, slot, record);
    } catch (error) {
      if (entry.handedBack) return never();
      if (entry.cancelRequested) return { cancelled: true };
      if (entry.backstop?.fired) return this.timeOut(job, record, this.deadlines.failure(entry.deadlineS!));
      return this.failInfrastructure(job, record, error);
    } finally {
      entry.progress?.stop();
      entry.backstop?.cancel();
    }
    if (entry.handedBack) return never();

    switch (outcome.kind) {
      case 'cancelled':
        // The API set CANCELLED before it asked; the record is its to keep.
        return { cancelled: true };
      case 'error':
        if (outcome.error.code === TIMED_OUT_CODE) {
          return this.timeOut(job, record, this.deadlines.failure(entry.deadlineS!, outcome.error.message));
        }
        if (outcome.error.retryable) return this.failInfrastructure(job, record, new RetryableWorkerError(outcome.error));
        await this.ender.end(record, JobStatus.Failed, { failure: failureFromWorker(record.operation, outcome.error) });
        // Failed on its input: Bull records the failure but must not try again.
        await job.discard();
        throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
      case 'result':
        // The worker probed every video on its disk before uploading it.
        await this.ender.end(record, JobStatus.Completed, { output: outcome.output, progress: 100 });
        return { status: JobStatus.Completed };
    }
  }

  private runOnWorker(entry: ActiveJob, slot: WorkerSlot, record: JobRecord): Promise<JobOutcome> {
    // One write per tick, to the record, which every reader of progress reads (the Bull job's own
    // progress field had no reader); on a split part it also moves the parent's (JobStore).
    const progress = new ProgressForwarder((percent) => {
      void this.store.updateActive(entry.id, { progress: percent }).catch(() => undefined);
    });
    entry.progress = progress;
    const worker = slot.worker!;
    entry.deadlineS = this.deadlines.of(record);
    const running = worker.run(
      entry.id,
      { operation: record.operation, ...record.input },
      (percent) => progress.report(percent),
      entry.deadlineS,
    );
    entry.backstop = this.deadlines.backstop(entry.deadlineS, () => {
      if (!worker.isRunning(entry.id)) return;
      this.logger.warn(`worker ${slot.index} did not stop job ${entry.id} at its deadline; killing it`);
      worker.kill();
    });
    entry.running = true;
    if (entry.cancelRequested) this.stopOnWorker(entry, slot);
    return running;
  }

  private stopOnWorker(entry: ActiveJob, slot: WorkerSlot): void {
    const worker = slot.worker!;
    worker.cancel(entry.id);
    const timer = setTimeout(() => {
      // By now the worker may have confirmed and taken the next job: only a worker still stuck on
      // this one is killed.
      if (!worker.isRunning(entry.id)) return;
      this.logger.warn(`worker ${slot.index} did not confirm the cancel of job ${entry.id}; killing it`);
      worker.kill();
    }, CANCEL_CONFIRM_MS);
    timer.unref();
  }

  /** Past its deadline: TIMED_OUT (answered 504), never tried again. */
  private async timeOut(job: Job<QueuedJobData>, record: JobRecord, failure: JobFailure): Promise<never> {
    await this.ender.end(record, JobStatus.TimedOut, { failure });
    await job.discard();
    throw new Error(`timed out: ${failure.message}`);
  }

  /** Infrastructure failure: another attempt later, or FAILED once attempts are spent. */
  private async failInfrastructure(job: Job<QueuedJobData>, record: JobRecord, error: unknown): Promise<never> {
    const cause = error instanceof Error ? error : new Error(String(error));
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade + 1 >= attempts) {
      this.logger.warn(`job ${record.id} failed on its last attempt: ${cause.message}`);
      await this.ender.end(record, JobStatus.Failed, { failure: failureFromInfrastructure(record.operation, cause) });
    } else {
      this.logger.warn(`job ${record.id} attempt ${job.attemptsMade + 1}/${attempts} failed, will retry: ${cause.message}`);
      await this.store.updateActive(record.id, { status: JobStatus.InQueue, progress: 0 });
    }
    throw cause;
  }

  /** A job Bull failed on its own (stalled too often): its record must end too. */
  private async onBullFailure(queue: Queue<QueuedJobData>, job: Job<QueuedJobData> | null, error: Error): Promise<void> {
    if (!job || error?.message !== STALLED_TOO_OFTEN) return;
    const record = await this.store.get(job.data.jobId).catch(() => null);
    if (!record || isTerminal(record.status)) return;
    this.logger.warn(`queue ${queue.name}: job ${record.id} stalled too often; failing it`);
    await this.ender.end(record, JobStatus.Failed, {
      failure: failureFromInfrastructure(record.operation, new Error('the job was interrupted too many times')),
    }).catch(() => undefined);
  }

  /** Stops fetching jobs for good (drain): resolves once every queue is paused locally. */
  closeIntake(): Promise<void> {
    this.intakeClosedForGood = true;
    return this.setIntake(false);
  }

  private updateIntake(): Promise<void> {
    if (this.intakeClosedForGood) return this.intakeChange;
    return this.setIntake(!this.state.draining && this.pool.freeSlots > 0);
  }

  /** Pauses or resumes every queue locally, one change at a time. */
  private setIntake(open: boolean): Promise<void> {
    this.intakeChange = this.intakeChange.then(async () => {
      if (this.intakeOpen === open) return;
      this.intakeOpen = open;
      await Promise.all(
        this.queues.map((queue) =>
          (open ? queue.resume(true) : queue.pause(true, true)).catch((error: Error) =>
            this.logger.warn(`queue ${queue.name}: ${open ? 'resume' : 'pause'} failed: ${error.message}`),
          ),
        ),
      );
    });
    return this.intakeChange;
  }
}

function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}
