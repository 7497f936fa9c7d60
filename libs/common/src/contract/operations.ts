/** The kinds of job, by the name the worker's input carries in `operation`. */
export const JobOperation = {
  Caption: 'caption',
  Img2Vid: 'img2vid',
  AddAudio: 'addaudio',
  Transcribe: 'transcribe',
  Concatenate: 'concatenate',
  ConcatVideoAudio: 'concat_video_audio',
  TrilhaSonora: 'trilhasonora',
  AudioTrilhaSonora: 'audio_trilhasonora',
  AudioConcatenate: 'audio_concatenate',
  Compose: 'compose',
} as const;

export type JobOperation = (typeof JobOperation)[keyof typeof JobOperation];

export const JOB_OPERATIONS: readonly JobOperation[] = Object.values(JobOperation);

export function isJobOperation(value: unknown): value is JobOperation {
  return typeof value === 'string' && (JOB_OPERATIONS as readonly string[]).includes(value);
}
