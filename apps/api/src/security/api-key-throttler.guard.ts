import { ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
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
import { ApiKeys, presentedKey } from './api-keys';

/**
 * One request budget per API key across every route, so a client cannot multiply its budget by
 * spreading requests over endpoints. Requests without a valid key are counted per client address,
 * which also slows down anyone guessing keys. Routes open without a key (health, docs, metrics)
 * are not counted: probes and scrapers must never be turned away.
 */
@Injectable()
export class ApiKeyThrottlerGuard extends ThrottlerGuard {
  private readonly keys: ApiKeys;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    config: ConfigService,
  ) {
    super(options, storage, reflector);
    this.keys = new ApiKeys(config.getOrThrow<string>('X_API_KEY'));
  }

  protected shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(
      this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true,
    );
  }

  protected getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as Request;
    const keyId = this.keys.idOf(presentedKey(request.headers));
    return Promise.resolve(keyId ?? `address-${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`);
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
