import type { LogLevel as NestLogLevel } from '@nestjs/common';
import type { LogLevel } from './common-env';

const ORDER: NestLogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Maps LOG_LEVEL onto the set of Nest logger levels at or above it ("info" is Nest's "log"). */
export function logLevelsFrom(level: LogLevel): NestLogLevel[] {
  const nestLevel: NestLogLevel = level === 'info' ? 'log' : level;
  return ORDER.slice(0, ORDER.indexOf(nestLevel) + 1);
}
