import { JobOperation } from '../contract/operations';

/**
 * One Bull queue per kind of work, so a long img2vid batch never starves a short caption. The
 * names are part of the deployment: KEDA scales GPU nodes on `bull:<queue>:wait`.
 */
export const JOB_QUEUES = {
  [JobOperation.Caption]: 'caption',
  [JobOperation.Img2Vid]: 'img2vid',
  [JobOperation.AddAudio]: 'addaudio',
  [JobOperation.Transcribe]: 'transcribe',
  [JobOperation.Concatenate]: 'concatenate',
  [JobOperation.ConcatVideoAudio]: 'concat_video_audio',
  [JobOperation.TrilhaSonora]: 'trilhasonora',
  [JobOperation.AudioTrilhaSonora]: 'audio_trilhasonora',
  [JobOperation.AudioConcatenate]: 'audio_concatenate',
} as const satisfies Record<JobOperation, string>;

export type JobQueueName = (typeof JOB_QUEUES)[JobOperation];

/** Webhook deliveries, retried by Bull with the documented schedule; consumed by the API. */
export const WEBHOOK_QUEUE = 'webhooks';

/** Bull's key prefix: queue keys are `bull:<queue>:...`. */
export const BULL_PREFIX = 'bull';

/** What a local job's Bull payload carries: only the id; the job record holds the rest. */
export interface QueuedJobData {
  jobId: string;
  /** Times nodes without its whisper model loaded left a transcription to a node that had it. */
  warmDeclines?: number;
}
