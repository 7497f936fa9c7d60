import { LogLevel, rotatingLogFile } from '@app/common';
import { ConfigService } from '@nestjs/config';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { LoggerModule, Params } from 'nestjs-pino';
import pino from 'pino';
import { plainKeysInFile } from '../tenancy/keys-file';
import { SecretScrubber } from './secret-scrubber';

/** A client's own request id is kept when it is a plain token, so logs can be matched across systems. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Routes polled by machines every few seconds: their successful answers are not worth a line each. */
const QUIET_ROUTES = new Set(['/metrics', '/health', '/health/ready']);

const PINO_LEVELS: Record<LogLevel, pino.Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  verbose: 'trace',
};

export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const offered = req.headers['x-request-id'];
  const id = typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

function pathOf(url: string | undefined): string {
  return (url ?? '').split('?')[0];
}

/**
 * JSON lines on stdout, one per request plus whatever the application logs, each carrying the
 * request id (and the job id once known). Headers and query strings are never logged, and the
 * final text of every line goes through the secret scrubber, whatever put a secret in it. With
 * LOGS_DIR set, the same lines also go to LOGS_DIR/api.log, rotated by size.
 */
export function pinoParams(config: ConfigService): Params {
  const keysFile = config.get<string>('API_KEYS_FILE');
  const scrubber = new SecretScrubber([
    ...SecretScrubber.secretsOf(process.env),
    ...(keysFile ? plainKeysInFile(keysFile) : []),
  ]);
  const stdout = pino.destination({ fd: 1, sync: true });
  const logsDir = config.get<string>('LOGS_DIR');
  const file = logsDir ? rotatingLogFile(logsDir, 'api.log') : null;
  const scrubbed = {
    write: (line: string) => {
      const clean = scrubber.scrub(line);
      file?.write(clean);
      return stdout.write(clean);
    },
  };
  return {
    pinoHttp: {
      level: PINO_LEVELS[config.get<LogLevel>('LOG_LEVEL') ?? 'info'],
      stream: scrubbed,
      genReqId: requestIdFor,
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          path: pathOf(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        // A failing request's own error is logged with its stack where it is handled; here the line says what failed.
        err: (err: { type?: string; message?: string }) => ({ type: err.type, message: err.message }),
      },
      autoLogging: {
        ignore: (req) => QUIET_ROUTES.has(pathOf(req.url)),
      },
      // A 503 says a dependency is down, which the health checks report; it is not the API failing.
      customLogLevel: (_req, res, error) =>
        error || (res.statusCode >= 500 && res.statusCode !== 503) ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      redact: {
        paths: ['req.headers', 'res.headers', '*.authorization', '*["x-api-key"]', '*.password'],
        censor: '[REDACTED]',
      },
    },
    assignResponse: true,
  };
}

export const LoggingModule = LoggerModule.forRootAsync({
  inject: [ConfigService],
  useFactory: pinoParams,
});
