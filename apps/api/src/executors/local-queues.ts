import { JOB_QUEUES, JobOperation } from '@app/common';
import { BullModule, getQueueToken } from '@nestjs/bull';
import { Provider } from '@nestjs/common';
import type { Queue } from 'bull';

/** The local job queues, which the GPU nodes consume, by operation. */
export const JOB_QUEUE_BY_OPERATION = Symbol('JOB_QUEUE_BY_OPERATION');

export type JobQueueByOperation = Record<JobOperation, Queue>;

export const jobQueueModules = BullModule.registerQueue(...Object.values(JOB_QUEUES).map((name) => ({ name })));

export const jobQueueByOperationProvider: Provider = {
  provide: JOB_QUEUE_BY_OPERATION,
  inject: Object.values(JOB_QUEUES).map((name) => getQueueToken(name)),
  useFactory: (...queues: Queue[]): JobQueueByOperation =>
    Object.fromEntries(
      (Object.keys(JOB_QUEUES) as JobOperation[]).map((operation, index) => [operation, queues[index]]),
    ) as JobQueueByOperation,
};
