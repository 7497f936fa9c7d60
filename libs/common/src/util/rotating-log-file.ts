import { appendFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** The size at which a log file is rotated, and how many rotated files are kept. */
export const LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_FILES_KEPT = 5;

/**
 * A log file (LOGS_DIR) written line by line, rotated by size: past `maxBytes` it becomes
 * `<name>.1`, the older ones move up one and the oldest beyond `kept` is dropped. Writes are
 * synchronous, as the process's stdout logging is, so a crash loses no line either way.
 */
export class RotatingLogFile {
  private size: number;

  constructor(
    readonly path: string,
    private readonly maxBytes = LOG_FILE_MAX_BYTES,
    private readonly kept = LOG_FILES_KEPT,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.size = existsSync(path) ? statSync(path).size : 0;
  }

  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    appendFileSync(this.path, line);
    this.size += bytes;
  }

  private rotate(): void {
    for (let index = this.kept - 1; index >= 1; index--) {
      if (existsSync(`${this.path}.${index}`)) renameSync(`${this.path}.${index}`, `${this.path}.${index + 1}`);
    }
    renameSync(this.path, `${this.path}.1`);
    this.size = 0;
  }
}
