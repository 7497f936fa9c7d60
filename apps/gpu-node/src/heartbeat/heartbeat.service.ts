import { NodeHeartbeat, REDIS_CLIENT, nodeHeartbeatKey } from '@app/common';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { hostname } from 'node:os';
import { GpuNodeEnv } from '../config/gpu-node-env';

/** A node's heartbeat outlives three missed beats, then the node counts as gone. */
const MISSED_BEATS_BEFORE_GONE = 3;

/** Keeps this node's entry in the live set that the API reads. */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HeartbeatService.name);
  private readonly intervalMs: number;
  private readonly heartbeat: NodeHeartbeat;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<GpuNodeEnv, true>,
  ) {
    this.intervalMs = config.get('HEARTBEAT_INTERVAL_MS', { infer: true });
    this.heartbeat = {
      nodeId: config.get('NODE_ID', { infer: true }) ?? hostname(),
      hostname: hostname(),
      pid: process.pid,
      slots: config.get('NODE_CONCURRENCY', { infer: true }),
      startedAt: new Date().toISOString(),
      lastSeenAt: new Date().toISOString(),
    };
  }

  get nodeId(): string {
    return this.heartbeat.nodeId;
  }

  onApplicationBootstrap(): void {
    // Beat as soon as Redis is (again) reachable, not only on the next tick: after a Redis restart
    // the node is back in the live set at once.
    this.redis.on('ready', () => void this.beat());
    if (this.redis.status === 'ready') void this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.logger.log(`node ${this.nodeId} up with ${this.heartbeat.slots} slot(s)`);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.del(nodeHeartbeatKey(this.nodeId)).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    this.heartbeat.lastSeenAt = new Date().toISOString();
    const ttlMs = this.intervalMs * MISSED_BEATS_BEFORE_GONE;
    try {
      await this.redis.set(nodeHeartbeatKey(this.nodeId), JSON.stringify(this.heartbeat), 'PX', ttlMs);
    } catch (error) {
      this.logger.warn(`heartbeat not written: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
