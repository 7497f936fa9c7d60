export const JOB_KEY_PREFIX = 'api-gpu:job:';

export function jobKey(jobId: string): string {
  return `${JOB_KEY_PREFIX}${jobId}`;
}

/** Pub/sub channel on which every change of a job record is announced, as a JobEvent (job-event.ts) in JSON. */
export const JOB_EVENTS_CHANNEL = 'api-gpu:job-events';

/** Pub/sub channel on which the API asks nodes to stop a running job: the message is the job id. */
export const JOB_CANCEL_CHANNEL = 'api-gpu:job-cancel';
