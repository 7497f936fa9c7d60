import { CommonEnv, MAX_IMG2VID_IMAGES, parseAllowlist } from '@app/common';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MinLength,
  Min,
  ValidateBy,
} from 'class-validator';

/** The longest clip the job contract lets an img2vid image ask for, in seconds. */
const CONTRACT_MAX_DURACAO_S = 600;

const IsPrivateUrlAllowlist = () =>
  ValidateBy({
    name: 'privateUrlAllowlist',
    validator: {
      validate: (value: unknown) => {
        try {
          parseAllowlist(typeof value === 'string' ? value : undefined);
          return true;
        } catch {
          return false;
        }
      },
      defaultMessage: () =>
        'PRIVATE_URL_ALLOWLIST must be comma-separated host:port entries (e.g. 127.0.0.1:9000 or [::1]:9000)',
    },
  });

export class ApiEnv extends CommonEnv {
  @IsInt({ message: 'PORT must be an integer' })
  @Min(1, { message: 'PORT must be between 1 and 65535' })
  @Max(65535, { message: 'PORT must be between 1 and 65535' })
  PORT: number = 3000;

  @IsString()
  @IsNotEmpty({ message: 'HOST must not be empty' })
  HOST: string = '0.0.0.0';

  // Comma-separated so keys can be rotated: add the new one, move clients, drop the old one.
  @IsString({ message: 'X_API_KEY is required' })
  @Matches(/^\s*[^,\s]+\s*(,\s*[^,\s]+\s*)*$/, {
    message: 'X_API_KEY is required: one key, or several separated by commas, none empty',
  })
  X_API_KEY: string;

  // Clients with names, roles and limits (apps/api/src/tenancy/keys-file.ts); read and checked at start.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsString({ message: 'API_KEYS_FILE must be the path of a JSON or YAML file' })
  API_KEYS_FILE?: string;

  // Hours an Idempotency-Key is remembered (fractions allowed, for tests); a repeat after that is a new job.
  @IsNumber({}, { message: 'IDEMPOTENCY_TTL_HOURS must be a number of hours' })
  @Min(0.0001, { message: 'IDEMPOTENCY_TTL_HOURS must be greater than 0' })
  IDEMPOTENCY_TTL_HOURS: number = 24;

  // Fair share between clients on the local queues (apps/api/src/tenancy/fair-share.ts); false: first come, first served.
  @IsIn(['true', 'false'], { message: 'FAIR_SHARE must be true or false' })
  FAIR_SHARE: 'true' | 'false' = 'true';

  @IsString()
  CORS_ALLOW_ORIGINS: string = '*';

  @IsString()
  @IsNotEmpty()
  SERVICE_NAME: string = 'api-gpu';

  // The replaced service held a synchronous request for up to 32 minutes (240 polls of 8 s), so its
  // clients of large batches expect their 200 that late.
  @IsInt({ message: 'SYNC_TIMEOUT_S must be an integer' })
  @Min(1, { message: 'SYNC_TIMEOUT_S must be at least 1' })
  SYNC_TIMEOUT_S: number = 1920;

  @IsInt({ message: 'MAX_BODY_MB must be an integer' })
  @Min(1, { message: 'MAX_BODY_MB must be between 1 and 100' })
  @Max(100, { message: 'MAX_BODY_MB must be between 1 and 100' })
  MAX_BODY_MB: number = 10;

  @IsInt({ message: 'MAX_UPLOAD_MB must be an integer' })
  @Min(1, { message: 'MAX_UPLOAD_MB must be between 1 and 5000' })
  @Max(5000, { message: 'MAX_UPLOAD_MB must be between 1 and 5000' })
  MAX_UPLOAD_MB: number = 500;

  @IsInt({ message: 'UPLOAD_RETENTION_HOURS must be an integer' })
  @Min(1, { message: 'UPLOAD_RETENTION_HOURS must be at least 1' })
  UPLOAD_RETENTION_HOURS: number = 24;

  // S3 presigned URLs are valid for 7 days at most.
  @IsInt({ message: 'UPLOAD_URL_EXPIRY_S must be an integer' })
  @Min(1, { message: 'UPLOAD_URL_EXPIRY_S must be between 1 and 604800' })
  @Max(604800, { message: 'UPLOAD_URL_EXPIRY_S must be between 1 and 604800' })
  UPLOAD_URL_EXPIRY_S: number = 3600;

  // The worker validates against the job contract too, so these may lower its limits, never raise them.
  @IsInt({ message: 'MAX_IMAGES must be an integer' })
  @Min(1, { message: `MAX_IMAGES must be between 1 and ${MAX_IMG2VID_IMAGES}` })
  @Max(MAX_IMG2VID_IMAGES, { message: `MAX_IMAGES must be between 1 and ${MAX_IMG2VID_IMAGES}` })
  MAX_IMAGES: number = MAX_IMG2VID_IMAGES;

  @IsInt({ message: 'MAX_DURACAO_S must be an integer' })
  @Min(1, { message: `MAX_DURACAO_S must be between 1 and ${CONTRACT_MAX_DURACAO_S}` })
  @Max(CONTRACT_MAX_DURACAO_S, { message: `MAX_DURACAO_S must be between 1 and ${CONTRACT_MAX_DURACAO_S}` })
  MAX_DURACAO_S: number = CONTRACT_MAX_DURACAO_S;

  // Work limits at admission (apps/api/src/admission): nothing past them is queued.
  @IsInt({ message: 'MAX_TOTAL_OUTPUT_S must be an integer' })
  @Min(1, { message: 'MAX_TOTAL_OUTPUT_S must be at least 1' })
  MAX_TOTAL_OUTPUT_S: number = 7200;

  @IsInt({ message: 'MAX_QUEUED_JOBS_PER_KEY must be an integer' })
  @Min(1, { message: 'MAX_QUEUED_JOBS_PER_KEY must be at least 1' })
  MAX_QUEUED_JOBS_PER_KEY: number = 50;

  @IsInt({ message: 'MAX_QUEUED_OUTPUT_S_PER_KEY must be an integer' })
  @Min(1, { message: 'MAX_QUEUED_OUTPUT_S_PER_KEY must be at least 1' })
  MAX_QUEUED_OUTPUT_S_PER_KEY: number = 21600;

  @IsString()
  @IsPrivateUrlAllowlist()
  PRIVATE_URL_ALLOWLIST: string = '';

  // Without it webhook_url is refused: an unsigned webhook could be forged by anyone who can reach the receiver.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsString({ message: 'WEBHOOK_SECRET must be a string' })
  @MinLength(16, { message: 'WEBHOOK_SECRET must be at least 16 characters long' })
  WEBHOOK_SECRET?: string;

  // RunPod serverless, the second executor (apps/api/src/executors); without a key jobs run locally only.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsString({ message: 'RUNPOD_API_KEY must be a string' })
  RUNPOD_API_KEY?: string;

  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'RUNPOD_ENDPOINT_ID must be a RunPod endpoint id (letters, digits, - and _)' })
  RUNPOD_ENDPOINT_ID?: string;

  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @Matches(/^[A-Za-z0-9_-]+$/, {
    message: 'RUNPOD_WHISPER_ENDPOINT_ID must be a RunPod endpoint id (letters, digits, - and _)',
  })
  RUNPOD_WHISPER_ENDPOINT_ID?: string;

  @IsIn(['project', 'stock'], { message: 'RUNPOD_WHISPER_WORKER must be project or stock' })
  RUNPOD_WHISPER_WORKER: 'project' | 'stock' = 'project';

  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'], require_protocol: true },
    { message: 'RUNPOD_API_BASE must be an http(s) URL' },
  )
  RUNPOD_API_BASE: string = 'https://api.runpod.ai/v2';

  // Unset: the replaced service's RUNPOD_MAX_TIMEOUT, else 600 (see runpodTimeoutsFrom).
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsInt({ message: 'RUNPOD_EXECUTION_TIMEOUT must be an integer (seconds)' })
  @Min(5, { message: 'RUNPOD_EXECUTION_TIMEOUT must be at least 5 (seconds)' })
  @Max(604800, { message: 'RUNPOD_EXECUTION_TIMEOUT must be at most 604800 (7 days)' })
  RUNPOD_EXECUTION_TIMEOUT?: number;

  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsInt({ message: 'RUNPOD_MAX_TIMEOUT must be an integer (seconds)' })
  @Min(5, { message: 'RUNPOD_MAX_TIMEOUT must be at least 5 (seconds)' })
  @Max(604800, { message: 'RUNPOD_MAX_TIMEOUT must be at most 604800 (7 days)' })
  RUNPOD_MAX_TIMEOUT?: number;

  // The endpoint's idle timeout is set in RunPod's console; the replaced service's deployments
  // name it here, and GET /runpod/config reports it.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsInt({ message: 'RUNPOD_IDLE_TIMEOUT must be an integer (seconds)' })
  @Min(0, { message: 'RUNPOD_IDLE_TIMEOUT must be at least 0 (seconds)' })
  RUNPOD_IDLE_TIMEOUT?: number;

  // Unset: POLLING_MAX_ATTEMPTS polls of 8 s (the replaced service's transcription wait), else 3600.
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsInt({ message: 'RUNPOD_MAX_WAIT_S must be an integer (seconds)' })
  @Min(1, { message: 'RUNPOD_MAX_WAIT_S must be at least 1' })
  RUNPOD_MAX_WAIT_S?: number;

  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsInt({ message: 'POLLING_MAX_ATTEMPTS must be an integer' })
  @Min(1, { message: 'POLLING_MAX_ATTEMPTS must be at least 1' })
  POLLING_MAX_ATTEMPTS?: number;

  @IsNumber({}, { message: 'RUNPOD_HTTP_TIMEOUT_S must be a number (seconds)' })
  @Min(0.1, { message: 'RUNPOD_HTTP_TIMEOUT_S must be at least 0.1' })
  RUNPOD_HTTP_TIMEOUT_S: number = 15;

  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsIn(['local', 'runpod', 'hybrid'], { message: 'EXECUTOR_MODE must be local, runpod or hybrid' })
  EXECUTOR_MODE?: 'local' | 'runpod' | 'hybrid';

  @IsNumber({}, { message: 'BURST_QUEUE_THRESHOLD must be a number' })
  @Min(0, { message: 'BURST_QUEUE_THRESHOLD must be at least 0' })
  BURST_QUEUE_THRESHOLD: number = 2;

  // An img2vid batch of more images than this runs as MAX_WORKERS parts, on either executor or both.
  @IsInt({ message: 'IMG2VID_SPLIT_THRESHOLD must be an integer' })
  @Min(1, { message: 'IMG2VID_SPLIT_THRESHOLD must be at least 1' })
  IMG2VID_SPLIT_THRESHOLD: number = 50;

  @IsInt({ message: 'MAX_WORKERS must be an integer' })
  @Min(1, { message: 'MAX_WORKERS must be between 1 and 16' })
  @Max(16, { message: 'MAX_WORKERS must be between 1 and 16' })
  MAX_WORKERS: number = 3;
}
