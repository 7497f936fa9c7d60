import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { Observable, tap } from 'rxjs';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Puts the job id on every log line of a request that concerns a job: from the start when the
 * route names it (`/job/:jobId`), from the answer when the request creates it (`jobId` or `id`
 * in the body), so the request's own line always carries it.
 */
@Injectable()
export class JobIdLoggingInterceptor implements NestInterceptor {
  constructor(private readonly logger: PinoLogger) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const params = context.switchToHttp().getRequest<Request>().params ?? {};
    this.assign(params.jobId ?? params.id);
    return next.handle().pipe(
      tap((body: unknown) => {
        if (body && typeof body === 'object') {
          const { jobId, id } = body as { jobId?: unknown; id?: unknown };
          this.assign(jobId ?? id);
        }
      }),
    );
  }

  private assign(candidate: unknown): void {
    if (typeof candidate === 'string' && JOB_ID.test(candidate)) this.logger.assign({ jobId: candidate });
  }
}
