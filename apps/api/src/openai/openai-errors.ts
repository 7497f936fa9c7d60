import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { RETRY_AFTER_S } from '../http/error-body';
import { OpenAiErrorBody, openAiErrorBody } from '../http/openai-error-body';

/**
 * A refusal in OpenAI's words: the status, the field at fault (`param`) and OpenAI's `code`; a job
 * that was queued is named so the answer carries its X-Job-Id.
 */
export class OpenAiError extends HttpException {
  constructor(
    status: HttpStatus,
    message: string,
    param: string | null = null,
    code: string | null = null,
    readonly jobId?: string,
  ) {
    super(openAiErrorBody(status, message, param, code), status);
  }
}

export const invalidField = (message: string, param: string | null, code: string | null = 'invalid_value') =>
  new OpenAiError(HttpStatus.BAD_REQUEST, message, param, code);

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
    if (exception instanceof OpenAiError && exception.jobId) response.setHeader('X-Job-Id', exception.jobId);
    response.status(status).json(body);
  }

  private describe(exception: unknown): { status: number; body: OpenAiErrorBody } {
    if (!(exception instanceof HttpException)) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      return { status: 500, body: openAiErrorBody(500, 'The server had an error while processing your request; it has been logged') };
    }
    const status = exception.getStatus();
    const answer = exception.getResponse();
    if (typeof answer === 'object' && answer !== null && 'error' in answer && typeof answer.error === 'object') {
      return { status, body: answer as OpenAiErrorBody };
    }
    const message = messageOf(answer) ?? exception.message;
    const param = typeof answer === 'object' && answer !== null && 'field' in answer ? String(answer.field) : null;
    return { status, body: openAiErrorBody(status, message, param) };
  }
}

function messageOf(answer: string | object): string | undefined {
  if (typeof answer === 'string') return answer;
  const message = (answer as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : undefined;
}
