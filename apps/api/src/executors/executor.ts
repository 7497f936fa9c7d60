import type { ExecutorName, JobRecord } from '@app/common';

/** One backend that runs jobs: the local GPU nodes (Bull) or RunPod serverless. */
export interface Executor {
  readonly name: ExecutorName;
  /** Hands over a job whose record exists; throws ExecutorRefusedError when the backend will not take it. */
  submit(record: JobRecord, options?: SubmitOptions): Promise<void>;
  /** Stops a job already marked cancelled (or timed out) wherever it is queued or running. */
  cancel(record: JobRecord): Promise<void>;
}

/** The backend did not accept the job (network, 5xx, auth, queue down): another backend may. */
export class ExecutorRefusedError extends Error {
  constructor(
    readonly executor: ExecutorName,
    message: string,
  ) {
    super(message);
    this.name = 'ExecutorRefusedError';
  }
}

export interface SubmitOptions {
  /** Whether the other backend may take the job should this one refuse it later, once queued. */
  failover?: boolean;
}
