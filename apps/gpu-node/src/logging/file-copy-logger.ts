import { ConsoleLogger, LogLevel } from '@nestjs/common';
import type { Writable } from 'node:stream';

/**
 * The node's console logging, each line also written as JSON to LOGS_DIR/gpu-node.log (rotated by
 * size), where the replaced service's deployments collect their logs.
 */
export class FileCopyLogger extends ConsoleLogger {
  constructor(
    private readonly file: Writable,
    levels: LogLevel[],
  ) {
    super();
    this.setLogLevels(levels);
  }

  protected override printMessages(
    messages: unknown[],
    context = '',
    logLevel: LogLevel = 'log',
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, writeStreamType, errorStack);
    const time = new Date().toISOString();
    for (const message of messages) {
      const msg = message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message);
      this.file.write(`${JSON.stringify({ time, level: logLevel, pid: process.pid, context, msg })}\n`);
    }
  }
}
