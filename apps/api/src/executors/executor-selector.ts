import {
  ExecutorName,
  JobEnder,
  JobOperation,
  JobPart,
  JobRecord,
  JobStatus,
  JobStore,
  RequestedExecutor,
  transcriptionModel,
} from '@app/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { badRequest } from '../http/error-body';
import { JOB_QUEUE_BY_OPERATION, JobQueueByOperation } from './local-queues';
import { NodeRegistryService } from '../nodes/node-registry.service';
import { ApiMetrics } from '../observability/api-metrics';
import { Executor, ExecutorRefusedError } from './executor';
import { ExecutorReason } from './executor-reasons';
import { LocalExecutor } from './local.executor';
import { RunPodExecutor } from './runpod.executor';
import { EXECUTOR_SETTINGS, ExecutorSettings } from './runpod-settings';

export interface ExecutorDecision {
  executor: ExecutorName;
  reason: string;
  /** Whether the other backend may take the job when this one refuses it (not when the client named one). */
  failover: boolean;
  /** What the client asked for, which each part of a split batch follows. */
  requested?: RequestedExecutor;
}

type BackendName = Exclude<ExecutorName, 'split'>;


/**
 * Chooses the executor of each job (EXECUTOR_MODE, or the request's `executor`) and hands the job
 * over, to the other backend when the chosen one refuses it. Hybrid runs a job locally while a
 * live node has room, and bursts to RunPod when no node is alive or the jobs waiting per free
 * local slot pass BURST_QUEUE_THRESHOLD.
 */
@Injectable()
export class ExecutorSelector {
  private readonly logger = new Logger(ExecutorSelector.name);
  private readonly decisions: Counter<'executor' | 'reason'>;

  constructor(
    @Inject(EXECUTOR_SETTINGS) private readonly settings: ExecutorSettings,
    private readonly local: LocalExecutor,
    private readonly runpod: RunPodExecutor,
    private readonly nodes: NodeRegistryService,
    private readonly store: JobStore,
    private readonly ender: JobEnder,
    @Inject(JOB_QUEUE_BY_OPERATION) private readonly queues: JobQueueByOperation,
    metrics: ApiMetrics,
  ) {
    this.decisions = new Counter({
      name: 'api_gpu_executor_decisions_total',
      help: 'Jobs handed to an executor, by executor and the reason it was chosen',
      labelNames: ['executor', 'reason'] as const,
      registers: [metrics.registry],
    });
  }

  /**
   * Where a new job should run; a 400 naming `executor` when the client asks for RunPod without it
   * configured. An img2vid batch of more than IMG2VID_SPLIT_THRESHOLD images runs split.
   */
  async choose(
    operation: JobOperation,
    requested: RequestedExecutor | undefined,
    input: Record<string, unknown> = {},
  ): Promise<ExecutorDecision> {
    const backend = await this.placeByModel(operation, input, requested, await this.chooseBackend(operation, requested));
    if (operation === JobOperation.Img2Vid && imageCount(input) > this.settings.splitThreshold && this.settings.maxWorkers > 1) {
      return { executor: 'split', reason: ExecutorReason.Split, failover: backend.failover, requested };
    }
    return backend;
  }

  private async chooseBackend(operation: JobOperation, requested: RequestedExecutor | undefined): Promise<ExecutorDecision> {
    if (requested === 'local') return { executor: 'local', reason: ExecutorReason.Requested, failover: false };
    if (requested === 'runpod') {
      if (!this.runpod.configured) {
        throw badRequest('executor runpod is not available: this service has no RunPod configured (RUNPOD_API_KEY)', {
          field: 'executor',
        });
      }
      return { executor: 'runpod', reason: ExecutorReason.Requested, failover: false };
    }
    const mode = requested === 'auto' ? (this.runpod.configured ? 'hybrid' : 'local') : this.settings.mode;
    const failover = this.runpod.configured;
    if (mode === 'local') return { executor: 'local', reason: ExecutorReason.ModeLocal, failover };
    if (mode === 'runpod') return { executor: 'runpod', reason: ExecutorReason.ModeRunPod, failover };
    return { ...(await this.hybrid(operation)), failover };
  }

  /**
   * A transcription meant for the local nodes goes to a node that can load its model: when live
   * nodes advertise their models and none has it, the job goes to RunPod (unless the client named
   * local), else a 400 naming `model` lists the models they have. While no node has told its models
   * (none alive, or none ready yet) the job is queued as any other: a node may come.
   */
  private async placeByModel(
    operation: JobOperation,
    input: Record<string, unknown>,
    requested: RequestedExecutor | undefined,
    decision: ExecutorDecision,
  ): Promise<ExecutorDecision> {
    if (operation !== JobOperation.Transcribe || decision.executor !== 'local') return decision;
    const advertising = (await this.nodes.liveNodes()).filter((node) => !node.draining && node.encoder !== null);
    if (advertising.length === 0) return decision;
    const model = transcriptionModel(input, this.settings.whisperDefaultModel);
    if (advertising.some((node) => node.models.includes(model.name))) return decision;
    if (this.runpod.configured && requested !== 'local') {
      return { executor: 'runpod', reason: ExecutorReason.ModelNotOnLocalNodes, failover: false };
    }
    const models = [...new Set(advertising.flatMap((node) => node.models))].sort();
    throw badRequest(
      `model ${JSON.stringify(model.name)}${model.source === 'model' ? '' : ` (${model.source})`} is not on any live GPU node; ` +
        `they have: ${models.join(', ') || 'none'}`,
      { field: 'model', models },
    );
  }

  /** Hands the job to its executor, or to the other one when it refuses and failover is allowed. */
  async submit(record: JobRecord, decision: ExecutorDecision): Promise<JobRecord> {
    if (decision.executor === 'split') return this.submitSplit(record, decision);
    try {
      await this.executor(decision.executor).submit(record, { failover: decision.failover });
      this.decisions.inc({ executor: decision.executor, reason: decision.reason });
      return record;
    } catch (error) {
      if (!(error instanceof ExecutorRefusedError) || !decision.failover) throw error;
      const other: BackendName = decision.executor === 'local' ? 'runpod' : 'local';
      const reason = decision.executor === 'runpod' ? ExecutorReason.FailoverFromRunPod : ExecutorReason.FailoverFromLocal;
      this.logger.warn(`job ${record.id}: ${decision.executor} refused it (${error.message}); handing it to ${other}`);
      const moved: JobRecord = { ...record, executor: other, executorReason: reason };
      await this.store.updateActive(record.id, { executor: other, executorReason: reason });
      await this.executor(other).submit(moved);
      this.decisions.inc({ executor: other, reason });
      return moved;
    }
  }

  /** Stops a job already marked ended; a split job's parts are marked cancelled and stopped too. */
  async cancel(record: JobRecord): Promise<void> {
    if (record.executor !== 'split') return this.executor(record.executor).cancel(record);
    await Promise.all(
      (record.parts ?? []).map(async (part) => {
        if ((await this.ender.end(part, JobStatus.Cancelled)) !== 'applied') return;
        const partRecord = await this.store.get(part.id);
        if (partRecord) await this.executor(partRecord.executor).cancel(partRecord);
      }),
    );
  }

  private executor(name: ExecutorName): Executor {
    return name === 'runpod' ? this.runpod : this.local;
  }

  /**
   * Runs a large img2vid batch as MAX_WORKERS parts, each a job of its own with `start_index`, so its
   * clips keep the names they would have in one job. In hybrid, as many parts run locally as there
   * are free local slots, the rest on RunPod. SplitCoordinator merges them as they end.
   */
  private async submitSplit(parent: JobRecord, decision: ExecutorDecision): Promise<JobRecord> {
    const images = parent.input.images as unknown[];
    const size = Math.ceil(images.length / this.settings.maxWorkers);
    const plans = await this.partDecisions(Math.ceil(images.length / size), decision.requested);
    const parts: JobPart[] = plans.map((plan, index) => ({
      id: randomUUID(),
      start: index * size,
      count: Math.min(size, images.length - index * size),
      executor: plan.executor,
    }));
    const withParts: JobRecord = { ...parent, parts };
    const children: JobRecord[] = parts.map((part, index) => ({
      id: part.id,
      operation: JobOperation.Img2Vid,
      status: JobStatus.InQueue,
      input: { ...parent.input, images: images.slice(part.start, part.start + part.count), start_index: part.start },
      executor: plans[index].executor,
      executorReason: plans[index].reason,
      parentId: parent.id,
      ...(parent.client ? { client: parent.client } : {}),
      progress: 0,
      createdAt: new Date().toISOString(),
    }));
    // Every part exists before the parent names them, so the coordinator never sees one missing.
    for (const child of children) await this.store.create(child);
    await this.store.updateActive(parent.id, { parts });
    for (const [index, child] of children.entries()) {
      try {
        parts[index].executor = (await this.submit(child, plans[index])).executor;
      } catch (error) {
        await this.cancel(withParts).catch(() => undefined);
        throw error;
      }
    }
    await this.store.updateActive(parent.id, { parts });
    this.decisions.inc({ executor: 'split', reason: ExecutorReason.Split });
    return withParts;
  }

  private async partDecisions(count: number, requested: RequestedExecutor | undefined): Promise<ExecutorDecision[]> {
    const first = await this.chooseBackend(JobOperation.Img2Vid, requested);
    if (first.reason !== ExecutorReason.LocalHasRoom) return Array.from({ length: count }, () => ({ ...first }));
    const live = (await this.nodes.liveNodes()).filter((node) => !node.draining);
    const freeSlots = live.reduce((sum, node) => sum + Math.max(0, node.freeSlots), 0);
    const localParts = Math.max(1, freeSlots - (await this.waitingJobs(JobOperation.Img2Vid)));
    return Array.from({ length: count }, (_, index) =>
      index < localParts ? { ...first } : { executor: 'runpod' as const, reason: ExecutorReason.SplitBurst, failover: first.failover },
    );
  }

  private async hybrid(operation: JobOperation): Promise<{ executor: BackendName; reason: string }> {
    const live = (await this.nodes.liveNodes()).filter((node) => !node.draining);
    if (live.length === 0) return { executor: 'runpod', reason: ExecutorReason.NoLiveNode };
    const freeSlots = live.reduce((sum, node) => sum + Math.max(0, node.freeSlots), 0);
    if (freeSlots === 0) return { executor: 'runpod', reason: ExecutorReason.NodesSaturated };
    const waiting = await this.waitingJobs(operation);
    if (waiting / freeSlots > this.settings.burstQueueThreshold) {
      return { executor: 'runpod', reason: ExecutorReason.QueueOverThreshold };
    }
    return { executor: 'local', reason: ExecutorReason.LocalHasRoom };
  }

  /** Jobs waiting for a local slot: every operation's, since every node serves every queue. */
  private async waitingJobs(operation: JobOperation): Promise<number> {
    const counts = await Promise.all(
      Object.entries(this.queues).map(([name, queue]) =>
        queue.getWaitingCount().catch((error: unknown) => {
          this.logger.warn(`${name} queue not counted for ${operation}: ${String(error)}`);
          return 0;
        }),
      ),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }
}

function imageCount(input: Record<string, unknown>): number {
  return Array.isArray(input.images) ? input.images.length : 0;
}
