import { mkdirSync } from 'node:fs';
import { RotatingFileStream, createStream } from 'rotating-file-stream';

/** The size at which a log file is rotated, and how many rotated files are kept. */
export const LOG_FILE_MAX_SIZE = '10M';
export const LOG_FILES_KEPT = 5;

/**
 * A log file under LOGS_DIR, rotated by size the way logrotate does it: past `size` it becomes
 * `<name>.1`, the older ones move up one and the oldest beyond `kept` is dropped.
 */
export function rotatingLogFile(dir: string, name: string, size = LOG_FILE_MAX_SIZE, kept = LOG_FILES_KEPT): RotatingFileStream {
  mkdirSync(dir, { recursive: true });
  return createStream(name, { path: dir, size, rotate: kept });
}
