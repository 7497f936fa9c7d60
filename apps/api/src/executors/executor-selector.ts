import { ExecutorName, JobOperation, JobRecord, JobStore, RequestedExecutor } from '@app/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { badRequest } from '../http/error-body';
import { JOB_QUEUE_BY_OPERATION, JobQueueByOperation } from '../jobs/job-queues';
import { NodeRegistryService } from '../nodes/node-registry.service';
import { ApiMetrics } from '../observability/api-metrics';
import { Executor, ExecutorRefusedError } from './executor';
import { LocalExecutor } from './local.executor';
import { RunPodExecutor } from './runpod.executor';
import { EXECUTOR_SETTINGS, ExecutorSettings } from './runpod-settings';

/** Why a job runs where it runs; recorded on the job as `executorReason` and counted by Prometheus. */
export const ExecutorReason = {
  Requested: 'requested',
  ModeLocal: 'mode_local',
  ModeRunPod: 'mode_runpod',
  LocalHasRoom: 'hybrid_local_has_room',
  NoLiveNode: 'hybrid_no_live_node',
  NodesSaturated: 'hybrid_nodes_saturated',
  QueueOverThreshold: 'hybrid_queue_over_threshold',
  FailoverFromRunPod: 'failover_runpod_refused',
  FailoverFromLocal: 'failover_local_refused',
} as const;

export interface ExecutorDecision {
  executor: ExecutorName;
  reason: string;
  /** Whether the other backend may take the job when this one refuses it (not when the client named one). */
  failover: boolean;
}

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

  /** Where a new job should run; a 400 naming `executor` when the client asks for RunPod without it configured. */
  async choose(operation: JobOperation, requested: RequestedExecutor | undefined): Promise<ExecutorDecision> {
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

  /** Hands the job to its executor, or to the other one when it refuses and failover is allowed. */
  async submit(record: JobRecord, decision: ExecutorDecision): Promise<JobRecord> {
    try {
      await this.executor(decision.executor).submit(record);
      this.decisions.inc({ executor: decision.executor, reason: decision.reason });
      return record;
    } catch (error) {
      if (!(error instanceof ExecutorRefusedError) || !decision.failover) throw error;
      const other: ExecutorName = decision.executor === 'local' ? 'runpod' : 'local';
      const reason = decision.executor === 'runpod' ? ExecutorReason.FailoverFromRunPod : ExecutorReason.FailoverFromLocal;
      this.logger.warn(`job ${record.id}: ${decision.executor} refused it (${error.message}); handing it to ${other}`);
      const moved: JobRecord = { ...record, executor: other, executorReason: reason };
      await this.store.updateActive(record.id, { executor: other, executorReason: reason });
      await this.executor(other).submit(moved);
      this.decisions.inc({ executor: other, reason });
      return moved;
    }
  }

  cancel(record: JobRecord): Promise<void> {
    return this.executor(record.executor).cancel(record);
  }

  private executor(name: ExecutorName): Executor {
    return name === 'runpod' ? this.runpod : this.local;
  }

  private async hybrid(operation: JobOperation): Promise<{ executor: ExecutorName; reason: string }> {
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
