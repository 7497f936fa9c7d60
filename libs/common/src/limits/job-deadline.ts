import { JobOperation } from '../contract/operations';

/** The worker's error code for a job it stopped at its deadline: the job ends TIMED_OUT. */
export const TIMED_OUT_CODE = 'timed_out';

/** What bounds a job's run time: the least any job gets and the most any job may hold a worker. */
export interface DeadlineSettings {
  floorS: number;
  maxS: number;
}

/**
 * Seconds of run time allowed per second of 1920x1080 img2vid output (the one operation whose
 * output length its input declares). Measured on the CPU fallback (libx264 on 2 shared cores, the
 * slowest machine the service runs on) with a margin of about 2x: a GPU node finishes well inside
 * it, and a job past it is not going to finish.
 */
const IMG2VID_SECONDS_PER_OUTPUT_SECOND = 3;
/** img2vid renders every clip at this size (the worker's kenburns.WIDTH x HEIGHT). */
const IMG2VID_PIXELS = 1920 * 1080;
const REFERENCE_PIXELS = 1920 * 1080;
/** Fetching and checking each img2vid image, before any frame is drawn. */
const SECONDS_PER_IMAGE = 2;
/**
 * compose: the Ken Burns frames (img2vid's rate) plus transcribing the narration, mixing the music
 * and burning captions in the same encode, each at most about one second per output second on the
 * CPU fallback.
 */
const COMPOSE_SECONDS_PER_OUTPUT_SECOND = IMG2VID_SECONDS_PER_OUTPUT_SECOND + 2;
/**
 * compose's video lasts as long as its narration, which the worker accepts up to twice the images'
 * total plus 10 s (the last image held): the deadline is reckoned on that longest video
 * (worker-python operations/compose.py, _MAX_HOLD_FACTOR and _MAX_HOLD_SLACK_S).
 */
const COMPOSE_MAX_HOLD_FACTOR = 2;
const COMPOSE_MAX_HOLD_SLACK_S = 10;

/**
 * The output media seconds a job's input declares, when it does: the sum of `duracao` of
 * img2vid's images, and of compose's (whose narration then fits the video to itself).
 */
export function declaredOutputSeconds(operation: JobOperation, input: Record<string, unknown>): number | undefined {
  const declares = operation === JobOperation.Img2Vid || operation === JobOperation.Compose;
  if (!declares || !Array.isArray(input.images)) return undefined;
  return (input.images as { duracao?: unknown }[]).reduce<number>(
    (total, image) => total + (typeof image.duracao === 'number' && image.duracao > 0 ? image.duracao : 0),
    0,
  );
}

/**
 * The seconds a job may run, from the work its input declares: output seconds times pixels per
 * second of output, per operation, plus the floor, capped at `maxS`. Operations whose length is
 * only known once their media is probed (caption, addaudio, transcribe) get the cap; their input
 * is itself bounded by the worker's MAX_VIDEO_SECONDS / MAX_AUDIO_SECONDS and pixel limits.
 */
export function jobDeadlineSeconds(
  operation: JobOperation,
  input: Record<string, unknown>,
  settings: DeadlineSettings,
): number {
  const outputS = declaredOutputSeconds(operation, input);
  if (outputS === undefined) return settings.maxS;
  const images = Array.isArray(input.images) ? input.images.length : 0;
  const pixels = IMG2VID_PIXELS / REFERENCE_PIXELS;
  const frames =
    operation === JobOperation.Compose
      ? (outputS * COMPOSE_MAX_HOLD_FACTOR + COMPOSE_MAX_HOLD_SLACK_S) * COMPOSE_SECONDS_PER_OUTPUT_SECOND * pixels
      : outputS * IMG2VID_SECONDS_PER_OUTPUT_SECOND * pixels;
  const work = frames + images * SECONDS_PER_IMAGE;
  return Math.min(settings.maxS, Math.ceil(settings.floorS + work));
}

/** When a job that started at `startedAt` (ISO) must have ended. */
export function deadlineAt(startedAt: string, deadlineS: number): string {
  return new Date(Date.parse(startedAt) + deadlineS * 1000).toISOString();
}
