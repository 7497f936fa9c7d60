// Type conversion of the variables reads design:type metadata, which is only recorded when
// reflect-metadata is loaded before these classes: a process may import @app/common before Nest.
import 'reflect-metadata';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsNumber, IsOptional, IsString, IsUrl, Matches, Min } from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const NODE_ENVS = ['production', 'development', 'test'] as const;

const trimmed = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

// Every field carries an explicit type: implicit conversion of environment strings reads it from
// the emitted design:type metadata, which an inferred type does not produce.

/** Variables every process of the service reads: where Redis and S3 are, and how loudly to log. */
export class CommonEnv {
  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  // The replaced service's deployments set it; accepted, and it changes nothing (the service
  // behaves the same in every environment).
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsIn(NODE_ENVS, { message: `NODE_ENV must be one of ${NODE_ENVS.join(', ')}` })
  NODE_ENV?: (typeof NODE_ENVS)[number];

  // When set, each process also writes its JSON log lines to <LOGS_DIR>/<process>.log, rotated by size.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() === '' ? undefined : value))
  @IsString({ message: 'LOGS_DIR must be a directory path' })
  LOGS_DIR?: string;

  // Whoever ends a job (a node, or the API for RunPod jobs and cancels) starts its retention clock.
  @IsInt({ message: 'JOB_RETENTION_HOURS must be an integer' })
  @Min(1, { message: 'JOB_RETENTION_HOURS must be at least 1' })
  JOB_RETENTION_HOURS: number = 24;

  // Every job gets a deadline from the work it asks for (libs/common/src/limits), at least the
  // floor and at most the cap: the API shows it, the worker and the node enforce it, RunPod's
  // executionTimeout is set from it.
  @IsInt({ message: 'JOB_MAX_RUNTIME_S must be an integer' })
  @Min(10, { message: 'JOB_MAX_RUNTIME_S must be at least 10' })
  JOB_MAX_RUNTIME_S: number = 3600;

  @IsInt({ message: 'JOB_DEADLINE_FLOOR_S must be an integer' })
  @Min(1, { message: 'JOB_DEADLINE_FLOOR_S must be at least 1' })
  JOB_DEADLINE_FLOOR_S: number = 60;
  // Bull's lockDuration of a running job, on the GPU nodes and the RunPod dispatcher: a process
  // that stops renewing its lock (killed, frozen) loses the job to another about this long afterwards.
  @IsInt({ message: 'JOB_LOCK_MS must be an integer' })
  @Min(1000, { message: 'JOB_LOCK_MS must be at least 1000' })
  JOB_LOCK_MS: number = 60000;

  // Runs of a job: a job whose node dies (or whose worker fails in a way worth retrying) runs
  // again, on another node, until this many runs have been spent.
  @IsInt({ message: 'JOB_MAX_ATTEMPTS must be an integer' })
  @Min(1, { message: 'JOB_MAX_ATTEMPTS must be at least 1' })
  JOB_MAX_ATTEMPTS: number = 3;

  // Whoever ends a job writes its usage ledger entry (libs/common/src/usage), with its cost from
  // these prices per second on each executor (unset: that executor costs nothing), kept this long.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'RUNPOD_PRICE_PER_S must be a number (price of one second on RunPod)' })
  @Min(0, { message: 'RUNPOD_PRICE_PER_S must be 0 or more' })
  RUNPOD_PRICE_PER_S?: number;

  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'LOCAL_GPU_PRICE_PER_S must be a number (price of one second on a GPU node)' })
  @Min(0, { message: 'LOCAL_GPU_PRICE_PER_S must be 0 or more' })
  LOCAL_GPU_PRICE_PER_S?: number;

  @IsInt({ message: 'USAGE_RETENTION_DAYS must be an integer' })
  @Min(1, { message: 'USAGE_RETENTION_DAYS must be at least 1' })
  USAGE_RETENTION_DAYS: number = 90;

  @IsUrl(
    { protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true },
    { message: 'REDIS_URL must be a redis:// or rediss:// URL' },
  )
  REDIS_URL: string = 'redis://127.0.0.1:6379';

  @IsUrl(
    { protocols: ['http', 'https'], require_tld: false, require_protocol: true },
    { message: 'S3_ENDPOINT_URL must be an http(s) URL' },
  )
  S3_ENDPOINT_URL: string = 'http://127.0.0.1:9000';

  @trimmed()
  @IsString({ message: 'S3_ACCESS_KEY is required' })
  @IsNotEmpty({ message: 'S3_ACCESS_KEY is required' })
  S3_ACCESS_KEY: string;

  @IsString({ message: 'S3_SECRET_KEY is required' })
  @IsNotEmpty({ message: 'S3_SECRET_KEY is required' })
  S3_SECRET_KEY: string;

  // The workers read it too; the API and the nodes need it to know which model a transcription
  // naming none loads.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() === '' ? undefined : value))
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: "WHISPER_DEFAULT_MODEL must be a model name: up to 64 letters, digits, '.', '_' or '-'",
  })
  WHISPER_DEFAULT_MODEL?: string;

  // name=served pairs: the workers serve a requested model name with a model they have.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() === '' ? undefined : value))
  @Matches(/^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*=\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*(,\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*=\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*)*$/, {
    message: 'WHISPER_MODEL_ALIASES must be name=served pairs separated by commas, e.g. large-v3=base,turbo=base',
  })
  WHISPER_MODEL_ALIASES?: string;

  // S3's own bucket naming rules, so a typo fails at start instead of at the first upload.
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    message: 'S3_BUCKET_NAME must be a valid S3 bucket name (3-63 chars: a-z, 0-9, "." and "-")',
  })
  S3_BUCKET_NAME: string = 'canais';

  @IsString()
  @IsNotEmpty({ message: 'S3_REGION must not be empty' })
  S3_REGION: string = 'us-east-1';

  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_tld: false, require_protocol: true },
    { message: 'S3_PUBLIC_URL must be an http(s) URL' },
  )
  S3_PUBLIC_URL?: string;
}
