import { JOB_EVENTS_CHANNEL, JobRecord, JobStore, isTerminal, mayHaveEnded, parseJobEvent } from '@app/common';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { ApiEnv } from '../config/api-env';

/** A waiter re-reads its job this often too, in case an announcement was lost with a connection. */
const RECHECK_INTERVAL_MS = 5000;

/**
 * Once the process is told to stop, a held request waits at most this long more, then gets its 202:
 * less than the HTTP drain grants in-flight requests, so it is answered rather than cut off.
 */
const WAIT_AFTER_STOP_SIGNAL_MS = 3_000;

interface Waiter {
  resolve: (record: JobRecord | null) => void;
  deadline: number;
  expireAt: (deadline: number) => void;
}

/**
 * Lets a request wait for its job to end. One subscriber connection per process listens on
 * JOB_EVENTS_CHANNEL (every change of a record is announced there with the job's id and status); a
 * waiter re-reads the record when its job's end is announced, when the connection comes back after an outage
 * (announcements made meanwhile are lost), and every few seconds as a last resort.
 */
@Injectable()
export class JobEventsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(JobEventsService.name);
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly subscriber: Redis;
  private recheckTimer?: NodeJS.Timeout;
  // Nest's destroy hooks only run after the HTTP drain has waited for the held requests, so the
  // stop signal itself is what shortens their wait.
  private readonly onStopSignal = () => this.shortenWaits(WAIT_AFTER_STOP_SIGNAL_MS);

  constructor(
    private readonly store: JobStore,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.subscriber = new Redis(config.get('REDIS_URL', { infer: true }), {
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    this.subscriber.on('error', () => undefined);
  }

  onModuleInit(): void {
    this.subscriber.on('message', (_channel: string, message: string) => {
      // A change that leaves the job running (a progress tick) is not read: only its end is awaited.
      const event = parseJobEvent(message);
      if (event && mayHaveEnded(event)) this.announced(event.id);
    });
    this.subscriber.on('ready', () => this.recheckAll());
    this.subscriber.subscribe(JOB_EVENTS_CHANNEL).catch((error: Error) => {
      this.logger.warn(`not subscribed to job events yet: ${error.message}`);
    });
    this.recheckTimer = setInterval(() => this.recheckAll(), RECHECK_INTERVAL_MS);
    process.once('SIGTERM', this.onStopSignal);
    process.once('SIGINT', this.onStopSignal);
  }

  onApplicationShutdown(): void {
    process.off('SIGTERM', this.onStopSignal);
    process.off('SIGINT', this.onStopSignal);
    clearInterval(this.recheckTimer);
    for (const jobId of [...this.waiters.keys()]) this.settle(jobId, null);
    this.subscriber.disconnect();
  }

  /**
   * The job's record once it has ended, or null if it has not ended within `timeoutMs` (or the
   * process is shutting down). The job is looked at once right away, so an end that came before the
   * wait began is not missed.
   */
  waitForEnd(jobId: string, timeoutMs: number): Promise<JobRecord | null> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (record: JobRecord | null) => {
        clearTimeout(timer);
        this.remove(jobId, waiter);
        resolve(record);
      };
      const waiter: Waiter = {
        resolve: finish,
        deadline: Date.now() + timeoutMs,
        expireAt: (deadline) => {
          clearTimeout(timer);
          waiter.deadline = deadline;
          timer = setTimeout(() => finish(null), Math.max(0, deadline - Date.now()));
        },
      };
      waiter.expireAt(waiter.deadline);
      const set = this.waiters.get(jobId) ?? new Set<Waiter>();
      set.add(waiter);
      this.waiters.set(jobId, set);
      this.announced(jobId);
    });
  }

  private shortenWaits(withinMs: number): void {
    const deadline = Date.now() + withinMs;
    for (const set of this.waiters.values()) {
      for (const waiter of set) if (waiter.deadline > deadline) waiter.expireAt(deadline);
    }
  }

  private announced(jobId: string): void {
    if (!this.waiters.has(jobId)) return;
    this.store
      .get(jobId)
      .then((record) => {
        if (record === null) this.settle(jobId, null);
        else if (isTerminal(record.status)) this.settle(jobId, record);
      })
      .catch(() => undefined);
  }

  private recheckAll(): void {
    for (const jobId of this.waiters.keys()) this.announced(jobId);
  }

  private settle(jobId: string, record: JobRecord | null): void {
    for (const waiter of [...(this.waiters.get(jobId) ?? [])]) waiter.resolve(record);
  }

  private remove(jobId: string, waiter: Waiter): void {
    const set = this.waiters.get(jobId);
    set?.delete(waiter);
    if (set?.size === 0) this.waiters.delete(jobId);
  }
}
