import { JobOperation, JobRecord, JobStatus, deadlineAt, isInputFailure, isTerminal } from '@app/common';
import { HttpStatus } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';

/*
 * Every body a job's client can see, built in one place so that the synchronous answer, the
 * `output` of GET /job/:id, the result route and the webhook all carry the same final body.
 */

export interface JobReply {
  status: number;
  body: Record<string, unknown>;
}

const SUCCESS_MESSAGES: Record<JobOperation, string> = {
  caption: 'Video caption completed and uploaded to S3 successfully',
  img2vid: 'Images converted to videos and uploaded to S3 successfully',
  addaudio: 'Video addaudio completed and uploaded to S3 successfully',
  transcribe: 'Transcription completed successfully',
  concatenate: 'Videos concatenated and uploaded to S3 successfully',
  concat_video_audio: 'Videos laid under the narration and uploaded to S3 successfully',
  trilhasonora: 'Music laid under the narration and uploaded to S3 successfully',
  audio_trilhasonora: 'Music laid under the narration and uploaded to S3 successfully',
  audio_concatenate: 'Audio files concatenated and uploaded to S3 successfully',
  compose: 'Video composed and uploaded to S3 successfully',
};

const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : undefined);

/**
 * RunPod's two figures: `delayTime` the time the job waited in the queue, `executionTime` the time
 * it ran, in ms; measured up to now while the job is still going.
 */
export function timingsOf(record: JobRecord, now = Date.now()): { delayTime: number; executionTime: number } {
  if (record.remoteTimings) return { ...record.remoteTimings };
  const created = ms(record.createdAt) ?? now;
  const started = ms(record.startedAt);
  const ended = ms(record.endedAt) ?? now;
  if (started === undefined) return { delayTime: Math.max(0, ended - created), executionTime: 0 };
  return { delayTime: Math.max(0, started - created), executionTime: Math.max(0, ended - started) };
}

/** From the request's arrival to the job's end, as the replaced service measured it. */
export function executionOf(record: JobRecord, now = Date.now()) {
  const startTime = record.createdAt;
  const endTime = record.endedAt ?? new Date(now).toISOString();
  const durationMs = Math.max(0, Date.parse(endTime) - Date.parse(startTime));
  return { startTime, endTime, durationMs, durationSeconds: durationMs / 1000 };
}

/** Fields this service adds to the documented bodies. */
function provenanceOf(record: JobRecord) {
  return {
    jobId: record.id,
    status: record.status,
    executor: record.executor,
    executor_reason: record.executorReason ?? null,
    node: record.node ?? null,
  };
}

/** The answer to a job's request once it has ended: what sync requests get and webhooks receive. */
export function finalResponse(record: JobRecord): JobReply {
  if (!isTerminal(record.status)) throw new Error(`job ${record.id} has not ended (${record.status})`);
  return record.status === JobStatus.Completed ? completedResponse(record) : unsuccessfulResponse(record);
}

function completedResponse(record: JobRecord): JobReply {
  const output = answeredOutput(record.output ?? {});
  const execution = executionOf(record);
  const stats = { jobId: record.id, ...timingsOf(record) };
  const code = HttpStatus.OK;
  const message = SUCCESS_MESSAGES[record.operation];
  switch (record.operation) {
    case JobOperation.Transcribe: {
      const { language, transcription, files, segments, words, model, model_requested, device, ...extra } = output;
      return {
        status: code,
        body: {
          code,
          message,
          job_id: record.id,
          language,
          transcription,
          files,
          execution,
          stats: { segments, words, model, model_requested: model_requested ?? model, device, ...stats },
          ...extra,
          ...provenanceOf(record),
        },
      };
    }
    case JobOperation.Img2Vid: {
      const { videos, ...extra } = output;
      const images = record.input.images;
      const total = Array.isArray(images) ? images.length : undefined;
      const processed = Array.isArray(videos) ? videos.length : 0;
      return {
        status: code,
        body: { code, message, videos, execution, stats: { ...stats, total, processed }, ...extra, ...provenanceOf(record) },
      };
    }
    default: {
      const { video_url, ...extra } = output;
      return {
        status: code,
        body: { code, message, video_url, execution, stats, ...extra, ...provenanceOf(record) },
      };
    }
  }
}

/** The worker's result as the client gets it: its `usage` is the ledger's (GET /usage), not the answer's. */
function answeredOutput(output: Record<string, unknown>): Record<string, unknown> {
  const answered = { ...output };
  delete answered.usage;
  return answered;
}

/**
 * Failed, cancelled and timed-out jobs. A failure caused by the request (its input, its media, a URL
 * that cannot be fetched) is a 400, anything else a 500; a transcription keeps the replaced
 * service's shape `{"error": "Transcription failed", "message", "job_id", "execution"}` in both.
 */
function unsuccessfulResponse(record: JobRecord): JobReply {
  const { status, error, message, field } = describeUnsuccessful(record);
  const execution = executionOf(record);
  const stats = { jobId: record.id, ...timingsOf(record) };
  const fieldPart = field ? { field } : {};
  if (record.operation === JobOperation.Transcribe) {
    return {
      status,
      body: { error: 'Transcription failed', message, job_id: record.id, execution, ...fieldPart, stats, ...provenanceOf(record) },
    };
  }
  return { status, body: { error, message, ...fieldPart, execution, stats, ...provenanceOf(record) } };
}

function describeUnsuccessful(record: JobRecord): { status: number; error: string; message: string; field?: string } {
  const failure = record.failure;
  switch (record.status) {
    case JobStatus.Cancelled:
      return {
        status: HttpStatus.CONFLICT,
        error: STATUS_CODES[HttpStatus.CONFLICT] as string,
        message: `Job ${record.id} was cancelled`,
      };
    case JobStatus.TimedOut:
      return {
        status: HttpStatus.GATEWAY_TIMEOUT,
        error: STATUS_CODES[HttpStatus.GATEWAY_TIMEOUT] as string,
        message: failure?.message ?? `Job ${record.id} timed out`,
      };
    default: {
      const status = failure && isInputFailure(failure) ? HttpStatus.BAD_REQUEST : HttpStatus.INTERNAL_SERVER_ERROR;
      return {
        status,
        error: status === HttpStatus.BAD_REQUEST ? 'Bad Request' : (failure?.error ?? 'Internal Server Error'),
        message: failure?.message ?? 'The job failed',
        field: failure?.field,
      };
    }
  }
}

const statusUrlOf = (jobId: string) => `/video/job/${jobId}`;

/** The body of a job accepted without waiting for it: the legacy /async routes' body. */
export function acceptedBody(record: Pick<JobRecord, 'id' | 'status'>): Record<string, unknown> {
  return {
    jobId: record.id,
    status: record.status,
    statusUrl: statusUrlOf(record.id),
    resultUrl: `${statusUrlOf(record.id)}/result`,
    message: 'Job accepted: poll statusUrl for its progress and resultUrl for its result',
  };
}

/** GET /job/:id: RunPod's status body, with this service's fields added. */
export function statusBody(record: JobRecord): Record<string, unknown> {
  const ended = isTerminal(record.status);
  const final = ended ? finalResponse(record) : undefined;
  return {
    id: record.id,
    status: record.status,
    ...timingsOf(record),
    output: final?.body ?? null,
    error: ended && record.status !== JobStatus.Completed ? (final?.body.message) : null,
    progress: record.progress,
    operation: record.operation,
    executor: record.executor,
    executor_reason: record.executorReason ?? null,
    node: record.node ?? null,
    createdAt: record.createdAt,
    startedAt: record.startedAt ?? null,
    endedAt: record.endedAt ?? null,
    ...deadlineOf(record),
    ...(record.webhookUrl ? { webhook: record.webhook ?? { status: 'pending' } } : {}),
    ...(record.parts ? { parts: record.parts } : {}),
  };
}

/** The job's run-time bound, and once it has started, the time it must have ended by. */
function deadlineOf(record: JobRecord): Record<string, unknown> {
  if (record.deadlineS === undefined) return {};
  return {
    deadline_s: record.deadlineS,
    deadlineAt: record.startedAt ? deadlineAt(record.startedAt, record.deadlineS) : null,
  };
}

/** GET /video/job/:id/result: 202 while the job is going, 200 with its final body once it has ended. */
export function resultReply(record: JobRecord): JobReply {
  if (!isTerminal(record.status)) {
    return {
      status: HttpStatus.ACCEPTED,
      body: {
        jobId: record.id,
        status: record.status,
        message: record.status === JobStatus.InQueue ? 'Job is waiting in the queue' : 'Job is running',
        statusUrl: statusUrlOf(record.id),
      },
    };
  }
  const final = finalResponse(record);
  return {
    status: HttpStatus.OK,
    body: {
      jobId: record.id,
      status: record.status,
      result: final.body,
      ...timingsOf(record),
      ...(record.status === JobStatus.Completed ? {} : { error: final.body.message }),
    },
  };
}
