import { HttpException, HttpStatus } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';

/** The contract's error shape; some answers add fields (the job id, the field at fault). */
export interface ErrorBody {
  error: string;
  message: string;
  [extra: string]: unknown;
}

/** Seconds a client is asked to wait before retrying while a dependency is down. */
export const RETRY_AFTER_S = 5;

export function errorBody(status: number, message: string, extra: Record<string, unknown> = {}): ErrorBody {
  return { error: STATUS_CODES[status] ?? 'Error', message, ...extra };
}

/** An HttpException whose response is already the contract's error shape. */
export function apiError(status: HttpStatus, message: string, extra: Record<string, unknown> = {}): HttpException {
  return new HttpException(errorBody(status, message, extra), status);
}

export const badRequest = (message: string, extra: Record<string, unknown> = {}) =>
  apiError(HttpStatus.BAD_REQUEST, message, extra);

export const serviceUnavailable = (message: string) => apiError(HttpStatus.SERVICE_UNAVAILABLE, message);

/** An answer that tells the client when to come back (429 past a quota): the filter sets Retry-After. */
export class RetryLaterError extends HttpException {
  constructor(status: HttpStatus, message: string, readonly retryAfterS: number, extra: Record<string, unknown> = {}) {
    super(errorBody(status, message, extra), status);
  }
}
