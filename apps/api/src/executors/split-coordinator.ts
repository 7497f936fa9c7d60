import {
  JOB_EVENTS_CHANNEL,
  JobEnder,
  JobFailure,
  JobPart,
  JobRecord,
  JobStatus,
  JobStore,
  REDIS_CLIENT,
  JobEvent,
  errorReason,
  isTerminal,
  parseJobEvent,
} from '@app/common';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { ExecutorSelector } from './executor-selector';
import { StorageService } from '../storage/storage.service';

/**
 * Ends each split img2vid job with its parts. The end of a part is announced on JOB_EVENTS_CHANNEL;
 * the coordinator then reads the parent and its parts' status and: once every part has completed,
 * ends the parent with their videos merged in input order; once one has failed, ends the parent as
 * failed naming the images of that part, cancels the other parts and removes every clip the batch
 * had written. Every API process does this; the atomic `finish` lets exactly one of them end the
 * parent, and what follows it is safe to repeat. The parent's progress and start are not kept
 * here: the job store brings them up to date with each change of a part (JobStore.updateActive),
 * so a progress tick costs no API process a read.
 */
@Injectable()
export class SplitCoordinator implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SplitCoordinator.name);
  private subscriber?: Redis;

  constructor(
    private readonly store: JobStore,
    private readonly ender: JobEnder,
    private readonly executors: ExecutorSelector,
    private readonly storage: StorageService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, message: string) => {
      const event = parseJobEvent(message);
      if (!event) return;
      this.partChanged(event).catch((error: unknown) => {
        this.logger.warn(`split job not brought up to date after ${event.id} changed: ${errorReason(error)}`);
      });
    });
    await this.subscriber.subscribe(JOB_EVENTS_CHANNEL);
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  /** Only a part's end matters here; a nudge (the recovery's, which says nothing of the record) is looked up. */
  private async partChanged(event: JobEvent): Promise<void> {
    if (event.status === undefined) {
      const [part] = await this.store.peek([event.id], ['parentId']);
      if (part?.parentId) await this.reconcile(part.parentId);
    } else if (event.parentId && isTerminal(event.status)) {
      await this.reconcile(event.parentId);
    }
  }

  /**
   * A part's end reaches every API process, so what is read on each is kept small: the parent's
   * and parts' status; whole records only once the batch ends.
   */
  private async reconcile(parentId: string): Promise<void> {
    const [head] = await this.store.peek([parentId], ['parts']);
    if (!head?.parts) return;
    // Announced when the cancel reaches each part: by then a completed part's clips are all written.
    if (head.status === JobStatus.Cancelled) return this.withParent(parentId, (parent) => this.removeClips(parent));
    if (isTerminal(head.status)) return;
    const partIds = head.parts.map((part) => part.id);
    const parts = await this.store.peek(partIds, []);
    const failedAt = parts.findIndex((part) => !part || (isTerminal(part.status) && part.status !== JobStatus.Completed));
    if (failedAt >= 0) {
      const record = await this.store.get(partIds[failedAt]);
      return this.withParent(parentId, (parent) => this.fail(parent, head.parts![failedAt], record));
    }
    if (parts.every((part) => part?.status === JobStatus.Completed)) {
      const records = await Promise.all(partIds.map((id) => this.store.get(id)));
      if (records.some((record) => !record)) return;
      return this.withParent(parentId, (parent) => this.complete(parent, records as JobRecord[]));
    }
  }

  private async withParent(parentId: string, then: (parent: JobRecord) => Promise<void>): Promise<void> {
    const parent = await this.store.get(parentId);
    if (parent) await then(parent);
  }

  private async complete(parent: JobRecord, parts: JobRecord[]): Promise<void> {
    const videos = parts.flatMap((part) => (part.output?.videos as unknown[] | undefined) ?? []);
    const output = { ...parts[0].output, videos };
    const startedAt = parts.map((part) => part.startedAt).filter((at): at is string => Boolean(at)).sort()[0];
    await this.ender.end(parent, JobStatus.Completed, { output, progress: 100, startedAt });
  }

  private async fail(parent: JobRecord, part: JobPart, record: JobRecord | null): Promise<void> {
    const images = (parent.input.images as { id: string }[]).slice(part.start, part.start + part.count).map((image) => image.id);
    const cause = record?.failure?.message ?? `the part ${record ? 'was ' + record.status.toLowerCase() : 'is gone'}`;
    const failure: JobFailure = {
      error: record?.failure?.error ?? 'Internal Server Error',
      message: `${shiftImageIndexes(cause, part.start)} (the part with images ${images.join(', ')} failed; the other parts were cancelled)`,
      ...(record?.failure?.code ? { code: record.failure.code } : {}),
      ...(record?.failure?.field ? { field: shiftImageIndexes(record.failure.field, part.start) } : {}),
    };
    if ((await this.ender.end(parent, JobStatus.Failed, { failure })) !== 'applied') return;
    await this.executors.cancel({ ...parent, status: JobStatus.Failed });
    await this.removeClips(parent);
  }

  /** Every clip the batch may have written: a failed or cancelled batch, like one job, leaves none. */
  private removeClips(parent: JobRecord): Promise<void> {
    const total = (parent.input.images as unknown[]).length;
    return this.storage.removeResults(
      String(parent.input.path),
      Array.from({ length: total }, (_, index) => `video_${index + 1}.mp4`),
    );
  }
}

/** A part's `images[i]` is `images[start + i]` of the whole batch. */
function shiftImageIndexes(text: string, start: number): string {
  return text.replace(/images\[(\d+)\]/g, (_, index: string) => `images[${Number(index) + start}]`);
}
