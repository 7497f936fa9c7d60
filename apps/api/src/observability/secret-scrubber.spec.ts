import { SecretScrubber } from './secret-scrubber';

describe('SecretScrubber', () => {
  const env = {
    X_API_KEY: 'first-api-key-1234, second-api-key-5678',
    S3_ACCESS_KEY: 'minio-access-abcdef',
    S3_SECRET_KEY: 'minio/secret+with"quote',
    WEBHOOK_SECRET: 'webhook-secret-0123456789',
    RUNPOD_API_KEY: 'rpa_runpodkey987654',
    S3_BUCKET_NAME: 'canais',
    LOG_LEVEL: 'info',
  };
  const scrubber = new SecretScrubber(SecretScrubber.secretsOf(env));

  it('finds every secret-named variable and each comma-separated key', () => {
    expect(SecretScrubber.secretsOf(env)).toEqual(
      expect.arrayContaining([
        'first-api-key-1234',
        'second-api-key-5678',
        'minio-access-abcdef',
        'minio/secret+with"quote',
        'webhook-secret-0123456789',
        'rpa_runpodkey987654',
      ]),
    );
    expect(SecretScrubber.secretsOf(env)).not.toContain('canais');
  });

  it.each([
    ['an API key in a message', 'key second-api-key-5678 refused', 'key [REDACTED] refused'],
    ['a JSON-escaped secret', JSON.stringify({ s: 'minio/secret+with"quote' }), '{"s":"[REDACTED]"}'],
    ['a URL-encoded secret', 'secret=minio%2Fsecret%2Bwith%22quote;', 'secret=[REDACTED];'],
    ['the RunPod key', 'Bearer rpa_runpodkey987654', 'Bearer [REDACTED]'],
  ])('redacts %s', (_case, line, expected) => {
    expect(scrubber.scrub(line)).toBe(expected);
  });

  it('drops the query string of presigned URLs and keeps the rest of the line', () => {
    const url =
      'http://127.0.0.1:9000/canais/out/v%C3%ADdeo.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=minio-access-abcdef%2F20260101&X-Amz-Signature=abc123';
    expect(scrubber.scrub(`{"msg":"uploaded","url":"${url}","n":1}`)).toBe(
      '{"msg":"uploaded","url":"http://127.0.0.1:9000/canais/out/v%C3%ADdeo.mp4","n":1}',
    );
  });

  it('leaves lines without secrets unchanged, accents included', () => {
    const line = '{"level":30,"msg":"legenda pronta: canção.mp4","path":"/job/123"}';
    expect(scrubber.scrub(line)).toBe(line);
  });

  it('ignores values too short to be told apart from ordinary text', () => {
    const short = new SecretScrubber(['abc']);
    expect(short.scrub('abc def')).toBe('abc def');
  });
});
