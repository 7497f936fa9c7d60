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
  [JobOperation.Compose]: 'compose',
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

/**
 * The RunPod jobs, one queue per kind of work as for the nodes, consumed by the RunPod dispatcher:
 * Bull's locks and stalled-job recovery keep exactly one dispatcher on each job, and hand it to
 * another when that one dies.
 */
export const RUNPOD_JOB_QUEUES = {
  [JobOperation.Caption]: 'runpod-caption',
  [JobOperation.Img2Vid]: 'runpod-img2vid',
  [JobOperation.AddAudio]: 'runpod-addaudio',
  [JobOperation.Transcribe]: 'runpod-transcribe',
  [JobOperation.Concatenate]: 'runpod-concatenate',
  [JobOperation.ConcatVideoAudio]: 'runpod-concat_video_audio',
  [JobOperation.TrilhaSonora]: 'runpod-trilhasonora',
  [JobOperation.AudioTrilhaSonora]: 'runpod-audio_trilhasonora',
  [JobOperation.AudioConcatenate]: 'runpod-audio_concatenate',
  [JobOperation.Compose]: 'runpod-compose',
} as const satisfies Record<JobOperation, string>;

/** A RunPod job's Bull payload. */
export interface RunPodJobData extends QueuedJobData {
  /** Whether the local nodes may take the job when RunPod refuses it (the client named no executor). */
  failover?: boolean;
  /** Where RunPod runs it, once it took it: so a job whose record is gone can still be cancelled there. */
  remote?: { endpoint: string; remoteId: string };
}
