import { Logger } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';

/**
 * Prefixes of this service's variables (and the replaced service's). A variable with one of them
 * that no process reads is most likely a typo of one that is read (S3_BUCKET for S3_BUCKET_NAME),
 * which would otherwise be silently ignored.
 */
export const SERVICE_VARIABLE_PREFIXES = [
  'S3_',
  'RUNPOD_',
  'WHISPER_',
  'WEBHOOK_',
  'REDIS_',
  'JOB_',
  'WORKER_',
  'MAX_',
  'SYNC_',
  'EXECUTOR_',
  'RATE_LIMIT_',
  'HEARTBEAT_',
  'SHUTDOWN_',
  'IMG2VID_',
  'BURST_',
  'POLLING_',
  'FFMPEG_',
  'DOWNLOAD_',
  'OUTPUT_',
  'USAGE_',
  'LOCAL_GPU_',
] as const;

/**
 * Variables with those prefixes read by a process other than the one warning (the Python worker,
 * the set-up scripts, the other app), or by the RunPod SDK. deploy-tests check this list against
 * what the code reads; a process's own env classes are added to it at run time.
 */
export const VARIABLES_READ_ELSEWHERE: readonly string[] = [
  // apps/api
  'BURST_QUEUE_THRESHOLD',
  'EXECUTOR_MODE',
  'IMG2VID_SPLIT_THRESHOLD',
  'MAX_BODY_MB',
  'MAX_DURACAO_S',
  'MAX_IMAGES',
  'MAX_QUEUED_JOBS_PER_KEY',
  'MAX_QUEUED_OUTPUT_S_PER_KEY',
  'MAX_TOTAL_OUTPUT_S',
  'MAX_UPLOAD_MB',
  'MAX_WORKERS',
  'POLLING_MAX_ATTEMPTS',
  'RATE_LIMIT_MAX',
  'RATE_LIMIT_WINDOW_S',
  'RUNPOD_API_BASE',
  'RUNPOD_API_KEY',
  'RUNPOD_ENDPOINT_ID',
  'RUNPOD_EXECUTION_TIMEOUT',
  'RUNPOD_HTTP_TIMEOUT_S',
  'RUNPOD_IDLE_TIMEOUT',
  'RUNPOD_MAX_TIMEOUT',
  'RUNPOD_MAX_WAIT_S',
  'RUNPOD_WHISPER_ENDPOINT_ID',
  'RUNPOD_WHISPER_WORKER',
  'SYNC_TIMEOUT_S',
  'WEBHOOK_RETRY_DELAYS_MS',
  'WEBHOOK_SECRET',
  'WEBHOOK_TIMEOUT_MS',
  // apps/gpu-node
  'HEARTBEAT_INTERVAL_MS',
  'JOB_DEADLINE_GRACE_S',
  'JOB_LOCK_MS',
  'SHUTDOWN_GRACE_S',
  'WORKER_DIR',
  'WORKER_PYTHON',
  'WORKER_READY_TIMEOUT_S',
  // worker-python
  'DOWNLOAD_TIMEOUT_S',
  'FFMPEG_ENCODER',
  'JOB_CONTRACT_SCHEMA',
  'MAX_AUDIO_SECONDS',
  'MAX_DOWNLOAD_MB',
  'MAX_IMAGE_PIXELS',
  'MAX_CPU_TRANSCRIBE_SECONDS',
  'MAX_VIDEO_PIXEL_RATE',
  'MAX_VIDEO_PIXELS',
  'MAX_VIDEO_SECONDS',
  'WORKER_MAX_RSS_MB',
  'OUTPUT_DIR',
  'S3_INPUT_BUCKETS',
  'WHISPER_DEVICE',
  'WHISPER_MAX_LOADED_MODELS',
  'WHISPER_MODELS_DIR',
  'WORKER_LOG_LEVEL',
  'WORKER_TMP_DIR',
  // the RunPod SDK, in the worker on RunPod
  'RUNPOD_DEBUG_LEVEL',
  'RUNPOD_LOG_LEVEL',
  'RUNPOD_WEBHOOK_POST_OUTPUT',
  // scripts/up.sh
  'S3_PUBLIC_READ',
];

/** The names in `env` that carry one of our prefixes and that neither `ownVariables` nor the list above hold. */
export function unknownServiceVariables(env: Record<string, unknown>, ownVariables: Iterable<string>): string[] {
  const known = new Set([...VARIABLES_READ_ELSEWHERE, ...ownVariables]);
  return Object.keys(env)
    .filter((name) => SERVICE_VARIABLE_PREFIXES.some((prefix) => name.startsWith(prefix)) && !known.has(name))
    .sort();
}

/** The variables an env class declares (its validated properties, inherited ones included). */
export function variablesOf(envClass: new () => object): string[] {
  return getMetadataStorage()
    .getTargetValidationMetadatas(envClass, '', true, false)
    .map((metadata) => metadata.propertyName);
}

/** One warning per unknown variable, at start. */
export function warnAboutUnknownVariables(env: Record<string, unknown>, envClass: new () => object): void {
  for (const name of unknownServiceVariables(env, variablesOf(envClass))) {
    Logger.warn(`${name} is set but no part of the service reads it: a misspelt variable?`, 'Configuration');
  }
}
