import { JOB_EVENTS_CHANNEL, JobOperation, JobRecord, JobStore, REDIS_CLIENT, errorReason, isTerminal, mayHaveEnded, parseJobEvent } from '@app/common';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { NodeState } from '../lifecycle/node-state.service';
import { WorkerPool } from '../worker/worker-pool.service';

const SECONDS_FOR_JOBS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const COUNTED_MARK_TTL_S = 14 * 24 * 3600;

/**
 * This node's Prometheus metrics, for its health port's /metrics. Jobs are read from the job
 * records, as the API reads them: every change is announced on JOB_EVENTS_CHANNEL, and a job that
 * ended after running here (its record names this node) is counted once, claimed in Redis so a
 * restarted node never counts it again. Run time is the record's startedAt to endedAt: the worker
 * fetching, running FFmpeg (caption, img2vid, addaudio) or faster-whisper (transcribe), uploading.
 */
@Injectable()
export class NodeMetrics implements OnModuleInit, OnApplicationShutdown {
  readonly registry = new Registry();
  private readonly logger = new Logger(NodeMetrics.name);
  private subscriber?: Redis;

  private readonly jobs = new Counter({
    name: 'gpu_node_jobs_total',
    help: 'Jobs that ended after running on this node, by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly ffmpegSeconds = new Histogram({
    name: 'gpu_node_ffmpeg_job_seconds',
    help: 'Run time of FFmpeg jobs (caption, img2vid, addaudio) on this node, fetch and upload included',
    labelNames: ['operation', 'outcome'] as const,
    buckets: SECONDS_FOR_JOBS,
    registers: [this.registry],
  });

  private readonly whisperSeconds = new Histogram({
    name: 'gpu_node_whisper_job_seconds',
    help: 'Run time of faster-whisper transcriptions on this node, fetch and upload included',
    labelNames: ['outcome'] as const,
    buckets: SECONDS_FOR_JOBS,
    registers: [this.registry],
  });

  constructor(
    private readonly jobStore: JobStore,
    private readonly state: NodeState,
    private readonly pool: WorkerPool,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'gpu_node_' });
    // Gauges are read at scrape time, so the figures are the node's state at that moment.
    new Gauge({
      name: 'gpu_node_slots',
      help: 'Job slots of this node',
      registers: [this.registry],
      collect() {
        this.set(pool.size);
      },
    });
    new Gauge({
      name: 'gpu_node_free_slots',
      help: 'Free job slots of this node (0 while it drains)',
      registers: [this.registry],
      collect() {
        this.set(state.draining ? 0 : pool.freeSlots);
      },
    });
    new Gauge({
      name: 'gpu_node_ready_workers',
      help: 'Warm workers ready for a job',
      registers: [this.registry],
      collect() {
        this.set(pool.readyWorkers);
      },
    });
    new Gauge({
      name: 'gpu_node_draining',
      help: '1 while the node finishes its jobs before exiting',
      registers: [this.registry],
      collect() {
        this.set(state.draining ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gpu_node_encoder_info',
      help: 'The video encoder and whisper device the workers use (value 1)',
      labelNames: ['encoder', 'whisper_device', 'gpu'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const capabilities = pool.capabilities;
        if (!capabilities) return;
        const labels = {
          encoder: capabilities.encoder,
          whisper_device: capabilities.whisperDevice,
          gpu: capabilities.gpu ?? 'none',
        };
        this.set(labels, 1);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, message: string) => {
      // Only an ended job has something to count: a running one's ticks are not read.
      const event = parseJobEvent(message);
      if (!event || !mayHaveEnded(event)) return;
      this.observe(event.id).catch((error: unknown) => this.logger.debug(`job event not counted: ${errorReason(error)}`));
    });
    await this.subscriber.subscribe(JOB_EVENTS_CHANNEL);
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  /** Prometheus's text format, and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  private async observe(jobId: string): Promise<void> {
    const record = await this.jobStore.get(jobId);
    if (!record || !isTerminal(record.status) || record.node !== this.state.nodeId || !record.startedAt) return;
    const claimed = await this.redis.set(
      `api-gpu:metrics:node-counted:${this.state.nodeId}:${jobId}`,
      '1',
      'EX',
      COUNTED_MARK_TTL_S,
      'NX',
    );
    if (claimed === 'OK') this.count(record);
  }

  private count(record: JobRecord): void {
    const outcome = record.status.toLowerCase();
    this.jobs.inc({ operation: record.operation, outcome });
    const seconds = (Date.parse(record.endedAt ?? '') - Date.parse(record.startedAt ?? '')) / 1000;
    if (!Number.isFinite(seconds) || seconds < 0) return;
    if (record.operation === JobOperation.Transcribe) this.whisperSeconds.observe({ outcome }, seconds);
    else this.ffmpegSeconds.observe({ operation: record.operation, outcome }, seconds);
  }
}
