import { NodeHeartbeat, REDIS_CLIENT, nodeHeartbeatKey, errorReason } from '@app/common';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { hostname } from 'node:os';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { detectGpuName } from '../lifecycle/gpu-name';
import { NodeState } from '../lifecycle/node-state.service';
import { WorkerPool } from '../worker/worker-pool.service';

/** A node's heartbeat outlives three missed beats, then the node counts as gone. */
const MISSED_BEATS_BEFORE_GONE = 3;

/** Keeps this node's entry, with its capacity, in the live set that the API reads. */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(HeartbeatService.name);
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private withdrawn = false;
  private gpu: string | null = null;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<GpuNodeEnv, true>,
    private readonly state: NodeState,
    private readonly pool: WorkerPool,
  ) {
    this.intervalMs = config.get('HEARTBEAT_INTERVAL_MS', { infer: true });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.gpu = await detectGpuName();
    // Beat as soon as Redis is (again) reachable, not only on the next tick: after a Redis restart
    // the node is back in the live set at once. Capacity changes are told at once too.
    this.redis.on('ready', () => void this.beat());
    if (this.redis.status === 'ready') void this.beat();
    this.pool.onChange(() => void this.beat());
    this.state.onDraining(() => void this.beat());
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.logger.log(`node ${this.state.nodeId} up with ${this.pool.size} slot(s), GPU: ${this.gpu ?? 'none'}`);
  }

  // Before any module's shutdown: the shared Redis connection closes in one (RedisModule).
  async beforeApplicationShutdown(): Promise<void> {
    await this.withdraw();
  }

  /** Leaves the live set at once instead of waiting for the TTL. */
  async withdraw(): Promise<void> {
    this.withdrawn = true;
    clearInterval(this.timer);
    await this.redis.del(nodeHeartbeatKey(this.state.nodeId)).catch(() => undefined);
  }

  current(): NodeHeartbeat {
    const capabilities = this.pool.capabilities;
    return {
      nodeId: this.state.nodeId,
      hostname: hostname(),
      pid: process.pid,
      slots: this.pool.size,
      freeSlots: this.state.draining ? 0 : this.pool.freeSlots,
      draining: this.state.draining,
      gpu: capabilities?.gpu ?? this.gpu,
      encoder: capabilities?.encoder ?? null,
      nvenc: capabilities?.nvenc ?? null,
      encoderFallback: capabilities?.encoderFallback ?? null,
      whisperDevice: capabilities?.whisperDevice ?? null,
      whisperFallback: capabilities?.whisperFallback ?? null,
      models: capabilities?.models ?? [],
      modelAliases: capabilities?.modelAliases ?? {},
      warmModels: capabilities?.warmModels ?? [],
      startedAt: this.state.startedAt,
      lastSeenAt: new Date().toISOString(),
    };
  }

  private async beat(): Promise<void> {
    if (this.withdrawn || this.redis.status !== 'ready') return;
    const ttlMs = this.intervalMs * MISSED_BEATS_BEFORE_GONE;
    try {
      await this.redis.set(nodeHeartbeatKey(this.state.nodeId), JSON.stringify(this.current()), 'PX', ttlMs);
    } catch (error) {
      this.logger.warn(`heartbeat not written: ${errorReason(error)}`);
    }
  }
}
