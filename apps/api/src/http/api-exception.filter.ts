import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ErrorBody, RETRY_AFTER_S, RetryLaterError, errorBody } from './error-body';
import { OPENAI_PATH_PREFIX, openAiErrorBody } from './openai-error-body';

/**
 * Every answer that is not a success goes out in the contract's shape `{"error", "message"}`: Nest's
 * own exceptions (unknown routes, guards), the validation pipe's, and anything unexpected, which is
 * logged here and answered without its details. A 503 always says when to retry. Under /v1/ (the
 * OpenAI-compatible routes, whose own errors their controller's filter shapes) the rest, such as an
 * unknown route or method, is in OpenAI's envelope too.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.describe(exception);
    if (response.headersSent) return;
    if (status === Number(HttpStatus.SERVICE_UNAVAILABLE)) response.setHeader('Retry-After', String(RETRY_AFTER_S));
    if (exception instanceof RetryLaterError) response.setHeader('Retry-After', String(exception.retryAfterS));
    const path = host.switchToHttp().getRequest<Request>().path ?? '';
    response.status(status).json(path.startsWith(OPENAI_PATH_PREFIX) ? openAiErrorBody(status, body.message) : body);
  }

  private describe(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return { status, body: asErrorBody(status, exception.getResponse()) };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: errorBody(HttpStatus.INTERNAL_SERVER_ERROR, 'An unexpected error occurred; it has been logged'),
    };
  }
}

function asErrorBody(status: number, response: string | object): ErrorBody {
  if (typeof response === 'string') return errorBody(status, response);
  const { error, message, ...rest } = response as Record<string, unknown>;
  delete rest.statusCode;
  const text = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : undefined;
  const body = errorBody(status, text ?? errorBody(status, '').error, rest);
  if (typeof error === 'string' && error.length > 0) body.error = error;
  return body;
}
