import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { RETRY_AFTER_S } from '../http/error-body';

/** OpenAI's error envelope: what its SDKs parse into their APIError classes. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A refusal in OpenAI's words: the status, the field at fault (`param`) and OpenAI's `code`. */
export class OpenAiError extends HttpException {
  constructor(status: HttpStatus, message: string, param: string | null = null, code: string | null = null) {
    super(envelope(status, message, param, code), status);
  }
}

export const invalidField = (message: string, param: string | null, code: string | null = 'invalid_value') =>
  new OpenAiError(HttpStatus.BAD_REQUEST, message, param, code);

function envelope(status: number, message: string, param: string | null, code: string | null): OpenAiErrorBody {
  return { error: { message, type: errorType(status), param, code } };
}

/** The `type` OpenAI gives each kind of failure. */
function errorType(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

const DEFAULT_CODES: Partial<Record<number, string>> = { 401: 'invalid_api_key', 429: 'rate_limit_exceeded' };

/**
 * Every failure on the OpenAI-compatible routes in OpenAI's envelope, whoever raised it: the key
 * guard (401), the rate limiter (429), the upload limit (413), the job contract (400) or anything
 * unexpected (500, logged, details withheld).
 */
@Catch()
export class OpenAiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAiErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    const { status, body } = this.describe(exception);
    if (status === Number(HttpStatus.SERVICE_UNAVAILABLE)) response.setHeader('Retry-After', String(RETRY_AFTER_S));
    response.status(status).json(body);
  }

  private describe(exception: unknown): { status: number; body: OpenAiErrorBody } {
    if (!(exception instanceof HttpException)) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      return { status: 500, body: envelope(500, 'The server had an error while processing your request; it has been logged', null, null) };
    }
    const status = exception.getStatus();
    const answer = exception.getResponse();
    if (typeof answer === 'object' && answer !== null && 'error' in answer && typeof answer.error === 'object') {
      return { status, body: answer as OpenAiErrorBody };
    }
    const message = messageOf(answer) ?? exception.message;
    const param = typeof answer === 'object' && answer !== null && 'field' in answer ? String(answer.field) : null;
    return { status, body: envelope(status, message, param, DEFAULT_CODES[status] ?? null) };
  }
}

function messageOf(answer: string | object): string | undefined {
  if (typeof answer === 'string') return answer;
  const message = (answer as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : undefined;
}
