/**
 * The message of whatever was thrown, for logs, health answers and failure records; an error with
 * no message (a refused connection reported as an AggregateError, say) is named by its code or type.
 */
export function errorReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message || (error as NodeJS.ErrnoException).code || error.name;
}
