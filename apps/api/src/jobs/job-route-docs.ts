import { HttpCode, HttpStatus, applyDecorators } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiOkResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ERROR_REF } from '../docs/error-responses';

/**
 * A route that runs a job: 200 with the final body once it has ended, 202 when the client asked not
 * to wait or SYNC_TIMEOUT_S passed. 200 is also what Nest answers when nothing else is set.
 */
export const JobSubmissionRoute = () =>
  applyDecorators(
    HttpCode(HttpStatus.OK),
    ApiHeader({ name: 'Prefer', required: false, description: '`respond-async`: answer 202 at once' }),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: 'A repeat with the same key and request (within IDEMPOTENCY_TTL_HOURS) gets the same job; nothing new is queued',
    }),
    ApiOkResponse({ description: 'The job ended: its final body (a failed job answers 400 or 500 with its error)' }),
    ApiAcceptedResponse({
      description: 'Queued and not waited for: `{"jobId","status","statusUrl","resultUrl","message"}`',
    }),
    ApiUnprocessableEntityResponse({ description: 'The Idempotency-Key was already used with a different request', schema: ERROR_REF }),
  );

export const JobCancelRoute = () =>
  applyDecorators(
    HttpCode(HttpStatus.OK),
    ApiOkResponse({ description: '`{"message":"Job cancelled successfully","jobId"}`' }),
    ApiConflictResponse({ description: 'The job has already ended (cancelled included)' }),
  );
