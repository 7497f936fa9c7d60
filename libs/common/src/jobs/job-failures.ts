import { JobOperation } from '../contract/operations';
import { INPUT_FAILURE_CODES, JobFailure } from './job-record';

/** The replaced service reported every failed transcription under this error name. */
const TRANSCRIPTION_FAILED = 'Transcription failed';

/** The worker's error object, as the local protocol and RunPod's `error` both carry it. */
export interface WorkerErrorBody {
  code: string;
  message: string;
  field?: string | null;
  retryable?: boolean;
}

/** How the client sees a job the worker refused or failed, on either executor. */
export function failureFromWorker(operation: JobOperation, error: WorkerErrorBody): JobFailure {
  const failure: JobFailure = {
    error: INPUT_FAILURE_CODES.includes(error.code) ? 'Bad Request' : serviceFailureName(operation),
    message: error.message,
    code: error.code,
  };
  if (error.field) failure.field = error.field;
  return failure;
}

/** How the client sees a job the service itself could not run (a lost node, a deadline, RunPod). */
export function serviceFailure(operation: JobOperation, message: string): JobFailure {
  return { error: serviceFailureName(operation), message };
}

function serviceFailureName(operation: JobOperation): string {
  return operation === JobOperation.Transcribe ? TRANSCRIPTION_FAILED : 'Internal Server Error';
}
