import {
  ApiOptions,
  JobEnder,
  JobOperation,
  JobRecord,
  JobStatus,
  JobStore,
  REDIS_CLIENT,
  UnsafeUrlError,
  assertPublicUrl,
  errorReason,
  isTerminal,
  parseAllowlist,
  withTimeout,
} from '@app/common';
import { HttpException, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { JobAdmission } from '../admission/job-admission.service';
import { ApiEnv } from '../config/api-env';
import { currentClient, mayAccess } from '../tenancy/client-identity';
import { IdempotencyClaim, IdempotentSubmissions } from '../tenancy/idempotency';
import { apiError, badRequest, serviceUnavailable } from '../http/error-body';
import { JobEventsService } from './job-events.service';
import { ExecutorSelector } from '../executors/executor-selector';
import { StorageService } from '../storage/storage.service';
import { JobReply, acceptedBody, finalResponse, resultReply, statusBody } from './job-responses';

/** A Redis round trip that has not answered by then is treated as Redis being down. */
const REDIS_TIMEOUT_MS = 5000;

export interface Submission {
  operation: JobOperation;
  /** The job's input, already validated once, by the route's request DTO (RequestValidationPipe). */
  input: Record<string, unknown>;
  options: ApiOptions;
  /**
   * What identifies the request for an Idempotency-Key when its input holds names the service made
   * up (an upload's object, an output folder); by default the operation, input and options.
   */
  fingerprint?: unknown;
}

/**
 * The life of a local job as the API sees it: accepted (validated, its URLs checked, its record
 * written, then queued), watched, answered, cancelled. The record always exists before the Bull job
 * that points at it, so a node never picks up a job nobody can ask about.
 */
@Injectable()
export class JobsService {
  private readonly logger = new Logger(JobsService.name);
  private readonly allowlist: string[];
  private readonly syncTimeoutMs: number;
  private readonly maxImages: number;
  private readonly maxDuracaoS: number;
  private readonly webhooksEnabled: boolean;

  constructor(
    private readonly store: JobStore,
    private readonly ender: JobEnder,
    private readonly events: JobEventsService,
    private readonly executors: ExecutorSelector,
    private readonly admission: JobAdmission,
    private readonly idempotency: IdempotentSubmissions,
    private readonly storage: StorageService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.allowlist = parseAllowlist(config.get('PRIVATE_URL_ALLOWLIST', { infer: true }));
    this.syncTimeoutMs = config.get('SYNC_TIMEOUT_S', { infer: true }) * 1000;
    this.maxImages = config.get('MAX_IMAGES', { infer: true });
    this.maxDuracaoS = config.get('MAX_DURACAO_S', { infer: true });
    this.webhooksEnabled = Boolean(config.get('WEBHOOK_SECRET', { infer: true }));
  }

  /**
   * Accepts a job; waits for its end unless asked not to (or SYNC_TIMEOUT_S passes first). A repeat
   * of an Idempotency-Key gets its job's answer as the first request would now: the final one once
   * it has ended.
   */
  async submit(submission: Submission): Promise<JobReply> {
    const record = await this.accept(submission);
    if (isTerminal(record.status)) return finalResponse(record);
    if (submission.options.async) return { status: HttpStatus.ACCEPTED, body: acceptedBody(record) };
    const ended = await this.events.waitForEnd(record.id, this.syncTimeoutMs);
    if (ended) return finalResponse(ended);
    const current = await this.store.get(record.id).catch(() => null);
    return { status: HttpStatus.ACCEPTED, body: acceptedBody(current ?? record) };
  }

  /**
   * Checks the operator's limits and the URLs, writes the record and queues the job; returns the
   * record as queued. With an Idempotency-Key already used for this request, returns that job's
   * record as it is now and queues nothing.
   */
  async accept(submission: Submission): Promise<JobRecord> {
    const { operation, input, options } = submission;
    this.checkLimits(operation, input);
    if (options.webhookUrl && !this.webhooksEnabled) {
      throw badRequest('webhook_url cannot be used: this service has no WEBHOOK_SECRET to sign webhooks with');
    }
    const key = this.idempotency.keyOfRequest();
    if (!key) return this.queue(submission);
    this.requireRedis();
    const client = currentClient().name;
    // Sync or async is how the answer is awaited, not part of the request: a timed-out sync call
    // retried as async gets the same job.
    const request = submission.fingerprint ?? { operation, input, options: { ...options, async: undefined } };
    const claimKey = () => this.redisCall(this.idempotency.claim(client, key, request), [HttpException]);
    let claim: IdempotencyClaim = await claimKey();
    for (let forgotten = false; claim.kind === 'existing'; forgotten = true) {
      const existing = await this.redisCall(this.store.get(claim.jobId));
      if (existing) return existing;
      // Its job's record has expired (JOB_RETENTION_HOURS shorter than the key's TTL): start afresh, once.
      if (forgotten) throw serviceUnavailable('This Idempotency-Key names a job that no longer exists; retry shortly');
      await this.redisCall(this.idempotency.forget(client, key));
      claim = await claimKey();
    }
    try {
      const record = await this.queue(submission);
      await this.redisCall(claim.accepted(record.id));
      return record;
    } catch (error) {
      await claim.abandoned().catch(() => undefined);
      throw error;
    }
  }

  private async queue({ operation, input, options }: Submission): Promise<JobRecord> {
    await this.checkUrls(operation, input, options);
    this.requireRedis();
    const decision = await this.redisCall(this.executors.choose(operation, options.executor, input), [HttpException]);
    const { jobId, deadlineS } = await this.redisCall(this.admission.admit(operation, input), [HttpException]);

    const record: JobRecord = {
      id: jobId,
      operation,
      status: JobStatus.InQueue,
      input: JSON.parse(JSON.stringify(input)) as Record<string, unknown>,
      executor: decision.executor,
      executorReason: decision.reason,
      client: currentClient().name,
      progress: 0,
      deadlineS,
      createdAt: new Date().toISOString(),
      ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
    };
    await this.redisCall(this.store.create(record));
    try {
      return await this.executors.submit(record, decision);
    } catch (error) {
      await this.store.remove(record.id).catch(() => {
        this.logger.error(`job ${record.id} could not be queued nor its record removed`);
      });
      this.logger.warn(`job ${record.id} not queued: ${errorReason(error)}`);
      throw serviceUnavailable('The job queue (Redis) is unavailable; nothing was queued, retry shortly');
    }
  }

  async status(jobId: string): Promise<Record<string, unknown>> {
    return statusBody(await this.find(jobId));
  }

  async result(jobId: string): Promise<JobReply> {
    return resultReply(await this.find(jobId));
  }

  /**
   * Ends the job as cancelled (atomically, so a job that ends meanwhile is either ended or cancelled,
   * never both), then has its executor stop it wherever it is queued or running.
   */
  async cancel(jobId: string): Promise<{ message: string; jobId: string }> {
    const record = await this.find(jobId);
    const outcome = await this.redisCall(this.ender.end(record, JobStatus.Cancelled));
    if (outcome === 'missing') throw notFound(jobId);
    if (outcome === 'refused') {
      const now = await this.redisCall(this.store.get(jobId));
      throw apiError(HttpStatus.CONFLICT, `Job ${jobId} has already ended (${now?.status ?? record.status}); there is nothing to cancel`, {
        jobId,
        status: now?.status ?? record.status,
      });
    }
    await this.executors.cancel(record).catch((error) => {
      this.logger.warn(`job ${jobId} cancelled but its executor was not told (${errorReason(error)}); it skips cancelled jobs`);
    });
    return { message: 'Job cancelled successfully', jobId };
  }

  private async find(jobId: string): Promise<JobRecord> {
    this.requireRedis();
    const record = await this.redisCall(this.store.get(jobId));
    // Another client's job is answered exactly as a job that does not exist.
    if (!record || !mayAccess(currentClient(), record)) throw notFound(jobId);
    return record;
  }

  /** The limits the operator may lower below the contract's: MAX_IMAGES and MAX_DURACAO_S (img2vid and compose). */
  private checkLimits(operation: JobOperation, input: Record<string, unknown>): void {
    const hasImages = operation === JobOperation.Img2Vid || operation === JobOperation.Compose;
    if (!hasImages || !Array.isArray(input.images)) return;
    const images = input.images as { duracao?: unknown }[];
    if (images.length > this.maxImages) {
      throw badRequest(`images must contain no more than ${this.maxImages} elements`);
    }
    const tooLong = images.findIndex((image) => typeof image.duracao === 'number' && image.duracao > this.maxDuracaoS);
    if (tooLong >= 0) {
      throw badRequest(`images[${tooLong}].duracao must not be greater than ${this.maxDuracaoS}`);
    }
  }

  /**
   * Refuses, before anything is queued, every URL that names a private address or a host resolving
   * to one (unless allowlisted). One URL per distinct host is looked up: an img2vid batch of 500
   * images from one server costs one lookup.
   */
  private async checkUrls(operation: JobOperation, input: Record<string, unknown>, options: ApiOptions): Promise<void> {
    const byHost = new Map<string, { url: string; field: string }>();
    // Results fed back as inputs (a transcription's SRT into a caption) name the service's own bucket,
    // which the worker reads through S3: allowed even though the local MinIO's address is private.
    const media = urlsOf(operation, input).filter(({ url }) => !this.storage.isPublicUrl(url));
    for (const { url, field } of [...media, ...(options.webhookUrl ? [{ url: options.webhookUrl, field: 'webhook_url' }] : [])]) {
      const key = hostKeyOf(url);
      if (!byHost.has(key)) byHost.set(key, { url, field });
    }
    try {
      await Promise.all(
        [...byHost.values()].map(({ url, field }) => assertPublicUrl(url, field, { allowlist: this.allowlist })),
      );
    } catch (error) {
      if (error instanceof UnsafeUrlError) throw badRequest(error.message, { field: error.field });
      throw error;
    }
  }

  private requireRedis(): void {
    if (this.redis.status !== 'ready') {
      throw serviceUnavailable('Redis, where jobs are kept, is unavailable; retry shortly');
    }
  }

  /** A Redis command, with a lost or failed connection answered as 503 rather than 500. */
  private async redisCall<T>(command: Promise<T>, passThrough: (new (...args: never[]) => Error)[] = []): Promise<T> {
    try {
      return await withTimeout(command, REDIS_TIMEOUT_MS, 'Redis');
    } catch (error) {
      if (passThrough.some((type) => error instanceof type)) throw error;
      this.logger.warn(`Redis command failed: ${errorReason(error)}`);
      throw serviceUnavailable('Redis, where jobs are kept, is unavailable; retry shortly');
    }
  }
}

function urlsOf(operation: JobOperation, input: Record<string, unknown>): { url: string; field: string }[] {
  const fields: Record<JobOperation, string[]> = {
    caption: ['url_video', 'url_srt'],
    addaudio: ['url_video', 'url_audio'],
    transcribe: ['audio_url'],
    img2vid: [],
    concatenate: [],
    concat_video_audio: ['audio_url'],
    trilhasonora: ['url_video', 'trilha_sonora'],
    audio_trilhasonora: ['audio_url', 'trilha_sonora'],
    audio_concatenate: [],
    compose: ['narration_url'],
  };
  const urls = fields[operation]
    .filter((field) => typeof input[field] === 'string')
    .map((field) => ({ url: input[field] as string, field }));
  if (operation === JobOperation.Concatenate && Array.isArray(input.video_urls)) {
    (input.video_urls as { video_url?: unknown }[]).forEach((item, index) => {
      if (typeof item?.video_url === 'string') urls.push({ url: item.video_url, field: `video_urls[${index}].video_url` });
    });
  }
  if (operation === JobOperation.AudioConcatenate && Array.isArray(input.audio_urls)) {
    (input.audio_urls as { audio_url?: unknown }[]).forEach((item, index) => {
      if (typeof item?.audio_url === 'string') urls.push({ url: item.audio_url, field: `audio_urls[${index}].audio_url` });
    });
  }
  if (operation === JobOperation.ConcatVideoAudio && Array.isArray(input.video_urls)) {
    (input.video_urls as unknown[]).forEach((url, index) => {
      if (typeof url === 'string') urls.push({ url, field: `video_urls[${index}]` });
    });
  }
  if (operation === JobOperation.Compose) urls.push(...composeNestedUrls(input));
  if ((operation === JobOperation.Img2Vid || operation === JobOperation.Compose) && Array.isArray(input.images)) {
    (input.images as { image_url?: unknown }[]).forEach((image, index) => {
      if (typeof image.image_url === 'string') urls.push({ url: image.image_url, field: `images[${index}].image_url` });
    });
  }
  return urls;
}

/** compose's URLs inside its music and captions objects. */
function composeNestedUrls(input: Record<string, unknown>): { url: string; field: string }[] {
  const music = input.music as { url?: unknown } | undefined;
  const captions = input.captions as { url_srt?: unknown; url_words?: unknown } | undefined;
  const candidates: [unknown, string][] = [
    [music?.url, 'music.url'],
    [captions?.url_srt, 'captions.url_srt'],
    [captions?.url_words, 'captions.url_words'],
  ];
  return candidates.flatMap(([url, field]) => (typeof url === 'string' ? [{ url, field }] : []));
}

/** Scheme, host and port: what the URL guard's verdict depends on. */
function hostKeyOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return url;
  }
}

function notFound(jobId: string) {
  return apiError(HttpStatus.NOT_FOUND, `Job ${jobId} not found`);
}
