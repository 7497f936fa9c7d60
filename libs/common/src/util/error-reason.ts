/** The message of whatever was thrown, for logs and failure records. */
export function errorReason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
