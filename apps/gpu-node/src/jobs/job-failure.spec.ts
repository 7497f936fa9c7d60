import { JobOperation } from '@app/common';
import { failureFromInfrastructure, failureFromWorker } from './job-failure';

describe('job failures as the client sees them', () => {
  it('answers a request at fault as a Bad Request naming the field', () => {
    for (const code of ['invalid_input', 'invalid_media', 'fetch_failed']) {
      expect(
        failureFromWorker(JobOperation.Caption, {
          code,
          message: 'url_srt: não é um arquivo SRT',
          field: 'url_srt',
          retryable: false,
        }),
      ).toEqual({ error: 'Bad Request', message: 'url_srt: não é um arquivo SRT', field: 'url_srt', code });
    }
  });

  it("keeps the replaced service's error name for a failed transcription and the service's own failures", () => {
    const encoder = { code: 'encoder_failed', message: 'h264_nvenc failed', retryable: false };
    expect(failureFromWorker(JobOperation.AddAudio, encoder).error).toBe('Internal Server Error');
    expect(failureFromWorker(JobOperation.Transcribe, { ...encoder, code: 'internal_error' }).error).toBe(
      'Transcription failed',
    );
    expect(failureFromWorker(JobOperation.Transcribe, { ...encoder, code: 'invalid_media' }).error).toBe(
      'Bad Request',
    );
    expect(failureFromInfrastructure(JobOperation.Img2Vid, new Error('worker died'))).toEqual({
      error: 'Internal Server Error',
      message: 'worker died',
    });
  });
});
