import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { hostname } from 'node:os';
import { GpuNodeEnv } from '../config/gpu-node-env';

/** Who this node is and whether it still takes jobs; read by the heartbeat and the health port. */
@Injectable()
export class NodeState {
  readonly nodeId: string;
  readonly startedAt = new Date().toISOString();
  private drainingSince?: Date;
  private readonly listeners: (() => void)[] = [];

  constructor(config: ConfigService<GpuNodeEnv, true>) {
    this.nodeId = config.get('NODE_ID', { infer: true }) ?? hostname();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  startDraining(): void {
    if (this.drainingSince) return;
    this.drainingSince = new Date();
    for (const listener of this.listeners) listener();
  }

  onDraining(listener: () => void): void {
    this.listeners.push(listener);
  }
}
