import { JobOperation, RUNPOD_JOB_QUEUES } from '@app/common';
import { BullModule, getQueueToken } from '@nestjs/bull';
import { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bull';
import { ApiEnv } from '../config/api-env';

/**
 * Stalls a RunPod job may go through: each is a dispatcher that died or stopped while following it,
 * never the job's own fault (RunPod runs it on regardless), so rolling restarts must not fail it.
 */
const DISPATCHER_MAX_STALLS = 20;

export const RUNPOD_QUEUE_BY_OPERATION = Symbol('RUNPOD_QUEUE_BY_OPERATION');

export type RunPodQueueByOperation = Record<JobOperation, Queue>;

/** The RunPod queues, with the same lock and stalled-job timing as the nodes' (JOB_LOCK_MS). */
export const runPodQueueModules = BullModule.registerQueueAsync(
  ...Object.values(RUNPOD_JOB_QUEUES).map((name) => ({
    name,
    inject: [ConfigService],
    useFactory: (config: ConfigService<ApiEnv, true>) => {
      const lockDuration = config.get('JOB_LOCK_MS', { infer: true });
      return {
        settings: {
          lockDuration,
          lockRenewTime: lockDuration / 4,
          stalledInterval: lockDuration / 2,
          maxStalledCount: DISPATCHER_MAX_STALLS,
        },
      };
    },
  })),
);

export const runPodQueueByOperationProvider: Provider = {
  provide: RUNPOD_QUEUE_BY_OPERATION,
  inject: Object.values(RUNPOD_JOB_QUEUES).map((name) => getQueueToken(name)),
  useFactory: (...queues: Queue[]): RunPodQueueByOperation =>
    Object.fromEntries(
      (Object.keys(RUNPOD_JOB_QUEUES) as JobOperation[]).map((operation, index) => [operation, queues[index]]),
    ) as RunPodQueueByOperation,
};
