import { ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { IS_PUBLIC } from '../auth/public.decorator';
import { identifiedClientOf } from '../tenancy/client-identity.middleware';

/**
 * One request budget per client (API key) across every route, so a client cannot multiply its budget by
 * spreading requests over endpoints. Requests without a valid key are counted per client address,
 * which also slows down anyone guessing keys. Routes open without a key (health, docs, metrics)
 * are not counted: probes and scrapers must never be turned away.
 */
@Injectable()
export class ApiKeyThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
  ) {
    super(options, storage, reflector);
  }

  protected shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(
      this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true,
    );
  }

  protected getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as Request;
    const client = identifiedClientOf(request);
    return Promise.resolve(client ? `client-${client.name}` : `address-${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`);
  }

  protected generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}-${tracker}`;
  }

  protected throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const windowS = Math.round(detail.ttl / 1000);
    throw new HttpException(
      {
        error: 'Too Many Requests',
        message: `Rate limit exceeded: at most ${detail.limit} requests per ${windowS} s per API key; retry after ${detail.timeToBlockExpire} s`,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
