import { JobFailure, JobOperation, serviceFailure } from '@app/common';
import type { WorkerJobError } from '../worker/worker-protocol';

export { failureFromWorker } from '@app/common';

/** How the client sees a job that ran out of attempts on infrastructure failures. */
export function failureFromInfrastructure(operation: JobOperation, error: Error): JobFailure {
  return serviceFailure(operation, error.message);
}

/** A worker error worth another attempt (network trouble, a busy or failing upload…). */
export class RetryableWorkerError extends Error {
  constructor(readonly workerError: WorkerJobError) {
    super(`${workerError.code}: ${workerError.message}`);
    this.name = 'RetryableWorkerError';
  }
}
