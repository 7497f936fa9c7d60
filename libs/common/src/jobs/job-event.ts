import { JobStatus, isTerminal } from './job-status';

/**
 * What JOB_EVENTS_CHANNEL carries about one change of a job record: the record's id and, as the
 * change left them, its status, progress and parent. A message that is only an id (a nudge, as
 * the split recovery sends) says nothing about the record: a listener reads it.
 */
export interface JobEvent {
  id: string;
  status?: JobStatus;
  progress?: number;
  parentId?: string;
}

/** The event a message on JOB_EVENTS_CHANNEL carries; null for one that names no job. */
export function parseJobEvent(message: string): JobEvent | null {
  if (!message.startsWith('{')) return message ? { id: message } : null;
  try {
    const parsed = JSON.parse(message) as Partial<JobEvent>;
    return typeof parsed.id === 'string' ? (parsed as JobEvent) : null;
  } catch {
    return null;
  }
}

/**
 * Whether the change may have ended the job, so a listener that cares only about ends must read the
 * record: yes for an end, and for a nudge, which does not say.
 */
export function mayHaveEnded(event: JobEvent): boolean {
  return event.status === undefined || isTerminal(event.status);
}
