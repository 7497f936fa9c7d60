/**
 * The error handed to Bull when a job fails: Bull keeps its stack in the job's `stacktrace`, which
 * anyone with Redis access (or a queue dashboard) reads; the message stays, while the frames, which
 * name this node's files and directories, are dropped.
 */
export function storedError(error: unknown): Error {
  const stored = error instanceof Error ? error : new Error(String(error));
  stored.stack = `${stored.name}: ${stored.message}`;
  return stored;
}
