import { INPUT_FAILURE_CODES, JobFailure, JobOperation } from '@app/common';
import type { WorkerJobError } from '../worker/worker-protocol';

/** The seed reported every failed transcription under this error name. */
const TRANSCRIPTION_FAILED = 'Transcription failed';

/** How the client sees a job the worker refused or failed. */
export function failureFromWorker(operation: JobOperation, error: WorkerJobError): JobFailure {
  const failure: JobFailure = {
    error: INPUT_FAILURE_CODES.includes(error.code)
      ? 'Bad Request'
      : operation === JobOperation.Transcribe
        ? TRANSCRIPTION_FAILED
        : 'Internal Server Error',
    message: error.message,
    code: error.code,
  };
  if (error.field) failure.field = error.field;
  return failure;
}

/** How the client sees a job that ran out of attempts on infrastructure failures. */
export function failureFromInfrastructure(operation: JobOperation, error: Error): JobFailure {
  return {
    error: operation === JobOperation.Transcribe ? TRANSCRIPTION_FAILED : 'Internal Server Error',
    message: error.message,
  };
}

/** A worker error worth another attempt (network trouble, a busy or failing upload…). */
export class RetryableWorkerError extends Error {
  constructor(readonly workerError: WorkerJobError) {
    super(`${workerError.code}: ${workerError.message}`);
    this.name = 'RetryableWorkerError';
  }
}
