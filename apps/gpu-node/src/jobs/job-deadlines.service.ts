import { DeadlineSettings, JobFailure, JobRecord, TIMED_OUT_CODE, jobDeadlineSeconds } from '@app/common';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { GpuNodeEnv } from '../config/gpu-node-env';

/** A timer that ends a job its worker did not stop in time. */
export interface Backstop {
  /** Whether it fired. */
  readonly fired: boolean;
  cancel(): void;
}

/**
 * The deadline of each job this node runs: the one the API gave it at admission, or for a job that
 * came without one (a split batch's part, a job queued before deadlines existed) the same figure
 * computed here. The worker stops the job at the deadline; the backstop, JOB_DEADLINE_GRACE_S
 * later, is for a worker that does not.
 */
@Injectable()
export class JobDeadlines {
  private readonly settings: DeadlineSettings;
  private readonly graceMs: number;

  constructor(config: ConfigService<GpuNodeEnv, true>) {
    this.settings = {
      floorS: config.get('JOB_DEADLINE_FLOOR_S', { infer: true }),
      maxS: config.get('JOB_MAX_RUNTIME_S', { infer: true }),
    };
    this.graceMs = config.get('JOB_DEADLINE_GRACE_S', { infer: true }) * 1000;
  }

  of(record: JobRecord): number {
    return record.deadlineS ?? jobDeadlineSeconds(record.operation, record.input, this.settings);
  }

  /** Calls `onExpired` once the deadline and the grace after it have passed, unless cancelled first. */
  backstop(deadlineS: number, onExpired: () => void): Backstop {
    const state = { fired: false, cancel: () => clearTimeout(timer) };
    const timer = setTimeout(() => {
      state.fired = true;
      onExpired();
    }, deadlineS * 1000 + this.graceMs);
    timer.unref();
    return state;
  }

  /** How the client sees a job that ran past its deadline (answered 504). */
  failure(deadlineS: number, workerMessage?: string): JobFailure {
    return {
      error: 'Gateway Timeout',
      message: workerMessage ?? `the job ran past its deadline of ${deadlineS} s and its worker was stopped`,
      code: TIMED_OUT_CODE,
    };
  }
}
