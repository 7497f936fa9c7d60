import { JobRecord } from '@app/common';
import { acceptedBody, finalResponse, resultReply, statusBody, timingsOf } from './job-responses';

const ID = '5b0e8f44-8a3c-4d5e-9f60-7a8b9c0d1e2f';

function record(overrides: Partial<JobRecord>): JobRecord {
  return {
    id: ID,
    operation: 'caption',
    status: 'COMPLETED',
    input: {},
    executor: 'local',
    node: 'gpu-1',
    progress: 100,
    createdAt: '2026-01-01T10:00:00.000Z',
    startedAt: '2026-01-01T10:00:00.500Z',
    endedAt: '2026-01-01T10:01:30.000Z',
    ...overrides,
  };
}

const execution = { startTime: '2026-01-01T10:00:00.000Z', endTime: '2026-01-01T10:01:30.000Z', durationMs: 90000, durationSeconds: 90 };
const stats = { jobId: ID, delayTime: 500, executionTime: 89500 };
const provenance = { jobId: ID, status: 'COMPLETED', executor: 'local', executor_reason: null, node: 'gpu-1' };

describe('final response bodies', () => {
  it("leaves the worker's usage report to the ledger, out of the answer", () => {
    const usage = { run_s: 3, gpu_s: 0, cpu_s: 3, media_in_s: 5, media_out_s: 5, images: 0 };
    const reply = finalResponse(record({ output: { video_url: 'https://s3/canais/p/v.mp4', usage } }));
    expect(reply.body).not.toHaveProperty('usage');
    expect(reply.body).toEqual(expect.objectContaining({ video_url: 'https://s3/canais/p/v.mp4' }));
  });

  it('caption: the documented body with its figures, and the added fields', () => {
    const reply = finalResponse(
      record({ output: { video_url: 'https://s3/canais/p/v.mp4', filename: 'v.mp4', encoder: 'libx264' } }),
    );
    expect(reply).toEqual({
      status: 200,
      body: {
        code: 200,
        message: 'Video caption completed and uploaded to S3 successfully',
        video_url: 'https://s3/canais/p/v.mp4',
        execution,
        stats,
        filename: 'v.mp4',
        encoder: 'libx264',
        ...provenance,
      },
    });
  });

  it('img2vid: videos in order, total from the request and processed from the result', () => {
    const videos = [{ id: 'a', video_url: 'https://s3/v1.mp4', filename: 'video_1.mp4' }];
    const reply = finalResponse(
      record({ operation: 'img2vid', input: { images: [{}, {}] }, output: { videos, encoder: 'h264_nvenc' } }),
    );
    expect(reply.body).toEqual({
      code: 200,
      message: 'Images converted to videos and uploaded to S3 successfully',
      videos,
      execution,
      stats: { ...stats, total: 2, processed: 1 },
      encoder: 'h264_nvenc',
      ...provenance,
    });
  });

  it('transcribe: job_id, the documented stats and the timings', () => {
    const files = { segments: { srt: 's', vtt: '', json: 'j' } };
    const reply = finalResponse(
      record({
        operation: 'transcribe',
        output: { language: 'pt', transcription: 'Olá', files, segments: 1, words: 1, model: 'base', device: 'cpu' },
      }),
    );
    expect(reply.body).toEqual({
      code: 200,
      message: 'Transcription completed successfully',
      job_id: ID,
      language: 'pt',
      transcription: 'Olá',
      files,
      execution,
      stats: { segments: 1, words: 1, model: 'base', model_requested: 'base', device: 'cpu', ...stats },
      ...provenance,
    });
  });

  it.each([
    ['a failure of the input', { error: 'Bad Request', message: 'url_video: not a video', field: 'url_video', code: 'invalid_media' }, 400, 'Bad Request'],
    ['a failure of the service', { error: 'Internal Server Error', message: 'encoder crashed', code: 'encoder_failed' }, 500, 'Internal Server Error'],
  ])('a video job ended by %s', (_case, failure, status, error) => {
    const reply = finalResponse(record({ status: 'FAILED', failure }));
    expect(reply.status).toBe(status);
    expect(reply.body).toEqual(
      expect.objectContaining({ error, message: failure.message, execution, stats, jobId: ID, status: 'FAILED' }),
    );
    expect(reply.body.field).toBe((failure as { field?: string }).field);
  });

  it.each([
    ['its input', 'invalid_media', 400],
    ['the service', 'encoder_failed', 500],
    ['the infrastructure, after its retries', undefined, 500],
  ])('a transcription failed by %s keeps the legacy shape', (_case, code, status) => {
    const failure = { error: 'Transcription failed', message: 'audio_url: not audio', ...(code ? { code } : {}) };
    const reply = finalResponse(record({ operation: 'transcribe', status: 'FAILED', failure }));
    expect(reply.status).toBe(status);
    expect(reply.body).toEqual(
      expect.objectContaining({ error: 'Transcription failed', message: 'audio_url: not audio', job_id: ID, execution }),
    );
  });

  it('a cancelled job that never started: 409, all of its time spent waiting', () => {
    const reply = finalResponse(record({ status: 'CANCELLED', startedAt: undefined, node: undefined }));
    expect(reply.status).toBe(409);
    expect(reply.body).toEqual(
      expect.objectContaining({
        error: 'Conflict',
        message: `Job ${ID} was cancelled`,
        stats: { jobId: ID, delayTime: 90000, executionTime: 0 },
        node: null,
      }),
    );
  });

  it('refuses to describe a job that has not ended', () => {
    expect(() => finalResponse(record({ status: 'IN_PROGRESS', endedAt: undefined }))).toThrow('has not ended');
  });
});

describe('status, result and accepted bodies', () => {
  it('RunPod timings of a running job are measured up to now', () => {
    const running = record({ status: 'IN_PROGRESS', endedAt: undefined });
    expect(timingsOf(running, Date.parse('2026-01-01T10:00:10.500Z'))).toEqual({ delayTime: 500, executionTime: 10000 });
  });

  it('GET /job/:id of a failed job: the error as text, the final body as output', () => {
    const failed = record({ status: 'FAILED', failure: { error: 'Internal Server Error', message: 'disk full' } });
    const body = statusBody(failed);
    expect(body).toEqual(
      expect.objectContaining({ id: ID, status: 'FAILED', delayTime: 500, executionTime: 89500, error: 'disk full', progress: 100 }),
    );
    expect(body.output).toEqual(finalResponse(failed).body);
  });

  it('the result route: 202 while running, 200 with the final body once ended', () => {
    expect(resultReply(record({ status: 'IN_PROGRESS', endedAt: undefined }))).toEqual({
      status: 202,
      body: { jobId: ID, status: 'IN_PROGRESS', message: 'Job is running', statusUrl: `/video/job/${ID}` },
    });
    const done = record({ output: { video_url: 'u' } });
    expect(resultReply(done)).toEqual({
      status: 200,
      body: { jobId: ID, status: 'COMPLETED', result: finalResponse(done).body, delayTime: 500, executionTime: 89500 },
    });
  });

  it('the accepted body points at the legacy status and result routes', () => {
    expect(acceptedBody({ id: ID, status: 'IN_QUEUE' })).toEqual({
      jobId: ID,
      status: 'IN_QUEUE',
      statusUrl: `/video/job/${ID}`,
      resultUrl: `/video/job/${ID}/result`,
      message: expect.any(String),
    });
  });
});
