import { JobOperation } from '../contract/operations';
import { declaredOutputSeconds } from './job-deadline';

/** A request past a work limit: the field at fault and why, for a 400. */
export interface WorkLimitViolation {
  field: string;
  message: string;
}

export interface WorkLimits {
  maxTotalOutputS: number;
}

/**
 * The work a request asks for, checked before anything is queued: today the total output duration
 * (500 images of 600 s each is 83 hours of video). Limits on the media itself (duration, size,
 * pixels, pixel rate) are checked by the worker once it has probed the files.
 */
export function checkWorkLimits(
  operation: JobOperation,
  input: Record<string, unknown>,
  limits: WorkLimits,
): WorkLimitViolation | null {
  const outputS = declaredOutputSeconds(operation, input);
  if (outputS !== undefined && outputS > limits.maxTotalOutputS) {
    return {
      field: 'images',
      message: `images: the clips add up to ${Math.round(outputS)} s of video, more than MAX_TOTAL_OUTPUT_S (${limits.maxTotalOutputS} s) per request`,
    };
  }
  return null;
}
