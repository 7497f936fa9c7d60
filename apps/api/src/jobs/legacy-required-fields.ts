import {
  AddAudioRequest,
  CaptionRequest,
  CaptionStyleRequest,
  Img2VidRequest,
  TranscribeRequest,
} from '@app/common';
import { RawBodyCheck, RawBodyChecks } from '../http/request-validation.pipe';

/*
 * The replaced service answered a request missing a required field with one fixed sentence per
 * route, and its clients match on that text; everything else gets a message naming the field.
 */

const isMissing = (value: unknown) => value === undefined || value === null || value === '';

const allRequired =
  (fields: string[], error: string, message: string): RawBodyCheck =>
  (body) =>
    fields.some((field) => isMissing(body[field])) ? { error, message } : undefined;

const captionFieldsCheck = allRequired(
  ['url_video', 'path', 'output_filename'],
  'Bad Request',
  'url_video, url_srt, path, and output_filename are required',
);

// url_words or auto_captions stand in for url_srt; with none of the three, the legacy sentence.
const captionCheck: RawBodyCheck = (body) =>
  captionFieldsCheck(body) ??
  (['url_srt', 'url_words', 'auto_captions'].every((field) => isMissing(body[field]))
    ? { error: 'Bad Request', message: 'url_video, url_srt, path, and output_filename are required' }
    : undefined);

const addAudioCheck = allRequired(
  ['url_video', 'url_audio', 'path', 'output_filename'],
  'Bad Request',
  'url_video, url_audio, path, and output_filename are required',
);

const img2vidCheck: RawBodyCheck = (body) => {
  const { images } = body;
  if (!Array.isArray(images) || images.length === 0) {
    return { error: 'Bad Request', message: 'images array is required with at least one image' };
  }
  const lacksAField = images.some(
    (image: unknown) =>
      typeof image === 'object' &&
      image !== null &&
      !Array.isArray(image) &&
      ['id', 'image_url', 'duracao'].some((field) => isMissing((image as Record<string, unknown>)[field])),
  );
  if (lacksAField) return { error: 'Bad Request', message: 'Each image must have id, image_url, and duracao' };
  if (isMissing(body.path)) return { error: 'Bad Request', message: 'path is required for S3 upload' };
  return undefined;
};

const transcribeCheck: RawBodyCheck = (body) => {
  if (isMissing(body.audio_url)) return { error: 'Missing required parameter', message: 'audio_url is required' };
  if (isMissing(body.path)) return { error: 'Missing required parameter', message: 'path is required for S3 upload' };
  return undefined;
};

export const LEGACY_REQUIRED_FIELD_CHECKS: RawBodyChecks = new Map<abstract new (...args: never[]) => unknown, RawBodyCheck>([
  [CaptionRequest, captionCheck],
  [CaptionStyleRequest, captionCheck],
  [AddAudioRequest, addAudioCheck],
  [Img2VidRequest, img2vidCheck],
  [TranscribeRequest, transcribeCheck],
]);
