import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { NodeState } from '../lifecycle/node-state.service';
import { WorkerPool } from '../worker/worker-pool.service';
import { JobProcessor } from './job-processor.service';

/** Workers of handed-back jobs get this long to remove their temp files and uploads. */
const HAND_BACK_CLEANUP_MS = 5_000;

export interface DrainOutcome {
  /** Jobs still running at the deadline, given back to the queue for another node. */
  handedBack: string[];
}

/**
 * A graceful stop (SIGTERM): take no new job, let the running ones finish within
 * SHUTDOWN_GRACE_S, and give back whatever is still running then.
 */
@Injectable()
export class Drain {
  private readonly logger = new Logger(Drain.name);
  private readonly graceMs: number;

  constructor(
    config: ConfigService<GpuNodeEnv, true>,
    private readonly state: NodeState,
    private readonly processor: JobProcessor,
    private readonly pool: WorkerPool,
  ) {
    this.graceMs = config.get('SHUTDOWN_GRACE_S', { infer: true }) * 1000;
  }

  async run(): Promise<DrainOutcome> {
    this.state.startDraining();
    await this.processor.closeIntake();
    const running = this.processor.runningJobs;
    this.logger.log(`draining: ${running} job(s) running, waiting up to ${this.graceMs / 1000} s`);
    const left = await this.processor.whenIdle(this.graceMs);
    if (left === 0) return { handedBack: [] };
    const handedBack = await this.processor.handBack();
    await this.pool.stopAll(HAND_BACK_CLEANUP_MS);
    this.logger.warn(`grace period over: ${handedBack.length} job(s) given back to the queue: ${handedBack.join(', ')}`);
    return { handedBack };
  }
}
