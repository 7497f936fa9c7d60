import { JobOperation, JobRecord, REDIS_CLIENT, readLiveNodes, transcriptionModel } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { NodeState } from '../lifecycle/node-state.service';
import { WorkerPool } from '../worker/worker-pool.service';

/**
 * Nodes decline the same job at most this many times in all: heartbeats lag, and a warm node
 * that looks free but does not take the job must not keep it waiting for ever.
 */
const MAX_DECLINES_PER_JOB = 2;

/**
 * Whether a transcription would rather run on another node: one that has its whisper model
 * loaded already (its heartbeat's `warmModels`) and a free slot, while this node's workers would
 * have to load it first.
 */
@Injectable()
export class WarmPreference {
  private readonly defaultModel: string | null;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<GpuNodeEnv, true>,
    private readonly state: NodeState,
    private readonly pool: WorkerPool,
  ) {
    this.defaultModel = config.get('WHISPER_DEFAULT_MODEL', { infer: true })?.trim() ?? null;
  }

  /** The node that should run this job instead of this one, or null to run it here. */
  async warmerNode(record: JobRecord, declinesSoFar: number): Promise<string | null> {
    if (record.operation !== JobOperation.Transcribe || declinesSoFar >= MAX_DECLINES_PER_JOB) return null;
    const model = transcriptionModel(record.input, this.defaultModel).name;
    if (this.pool.capabilities?.warmModels.includes(model)) return null;
    const warm = (await readLiveNodes(this.redis)).find(
      (node) => node.nodeId !== this.state.nodeId && !node.draining && node.freeSlots > 0 && node.warmModels.includes(model),
    );
    return warm?.nodeId ?? null;
  }
}
