import { ArgumentsHost, HttpException, HttpStatus, PayloadTooLargeException, UnauthorizedException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { ApiExceptionFilter } from '../http/api-exception.filter';
import { OpenAiError, OpenAiErrorFilter } from './openai-errors';

function answered(filter: { catch(exception: unknown, host: ArgumentsHost): void }, exception: unknown, path = '/v1/audio/transcriptions') {
  const out = { status: 0, body: undefined as unknown, headers: {} as Record<string, string> };
  const response = {
    headersSent: false,
    setHeader: (name: string, value: string) => (out.headers[name] = value),
    status: (status: number) => ((out.status = status), response),
    json: (body: unknown) => (out.body = body),
  };
  const host = { switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ path }) }) } as unknown as ArgumentsHost;
  filter.catch(exception, host);
  return out;
}

describe("OpenAiErrorFilter: every failure in OpenAI's envelope", () => {
  const filter = new OpenAiErrorFilter();

  it('the key guard\'s 401 is invalid_api_key', () => {
    const out = answered(filter, new UnauthorizedException({ error: 'Unauthorized', message: 'Invalid or missing API key' }));
    expect(out).toMatchObject({
      status: 401,
      body: { error: { message: 'Invalid or missing API key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
    });
  });

  it('the rate limiter\'s 429 is a requests error with rate_limit_exceeded', () => {
    expect(answered(filter, new ThrottlerException()).body).toMatchObject({
      error: { type: 'requests', code: 'rate_limit_exceeded', param: null },
    });
  });

  it('the upload limit\'s 413 stays a 413', () => {
    expect(answered(filter, new PayloadTooLargeException('File too large'))).toMatchObject({
      status: 413,
      body: { error: { message: 'File too large', type: 'invalid_request_error' } },
    });
  });

  it('a contract 400 naming its field gives it as param; a 503 says when to retry', () => {
    const bad = new HttpException({ error: 'Bad Request', message: 'language must be…', field: 'language' }, 400);
    expect(answered(filter, bad).body).toMatchObject({ error: { param: 'language' } });
    const down = answered(filter, new HttpException({ error: 'Service Unavailable', message: 'Redis' }, 503));
    expect(down.headers['Retry-After']).toBe('5');
    expect(down.body).toMatchObject({ error: { type: 'server_error' } });
  });

  it('an OpenAiError is sent as it is, with the job id of a job that was queued', () => {
    const out = answered(filter, new OpenAiError(HttpStatus.GATEWAY_TIMEOUT, 'still running', null, null, 'job-1'));
    expect(out.headers['X-Job-Id']).toBe('job-1');
    expect(out.body).toEqual({ error: { message: 'still running', type: 'server_error', param: null, code: null } });
  });

  it('anything unexpected is a 500 without its details', () => {
    const out = answered(filter, new Error('secret detail'));
    expect(out.status).toBe(500);
    expect(JSON.stringify(out.body)).not.toContain('secret detail');
  });
});

describe('ApiExceptionFilter under /v1/', () => {
  it("answers an unknown route or method there in OpenAI's envelope, elsewhere in the contract's", () => {
    const filter = new ApiExceptionFilter();
    const notFound = new HttpException({ error: 'Not Found', message: 'Cannot TRACE /v1/audio/translations' }, 404);
    expect(answered(filter, notFound).body).toEqual({
      error: { message: 'Cannot TRACE /v1/audio/translations', type: 'invalid_request_error', param: null, code: null },
    });
    expect(answered(filter, notFound, '/video/caption').body).toEqual({ error: 'Not Found', message: 'Cannot TRACE /v1/audio/translations' });
  });
});
