import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { ApiEnv } from '../config/api-env';
import { presentedKey } from '../security/api-keys';
import { IS_PUBLIC } from './public.decorator';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Every route needs a key (X-API-Key, or Authorization: Bearer) unless marked @Public(). Keys are compared as
 * SHA-256 digests with timingSafeEqual, so neither the content nor the length of a key leaks
 * through response times. A key in the query string is deliberately not read: URLs end up in logs.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keyDigests: Buffer[];

  constructor(
    private readonly reflector: Reflector,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.keyDigests = config
      .get('X_API_KEY', { infer: true })
      .split(',')
      .map((key) => key.trim())
      .filter((key) => key.length > 0)
      .map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const header = presentedKey(context.switchToHttp().getRequest<Request>().headers);
    if (typeof header === 'string' && this.isKnownKey(header)) return true;
    throw new UnauthorizedException({
      error: 'Unauthorized',
      message: 'Invalid or missing API key',
    });
  }

  private isKnownKey(candidate: string): boolean {
    const candidateDigest = digest(candidate);
    return this.keyDigests.reduce(
      (found, keyDigest) => timingSafeEqual(keyDigest, candidateDigest) || found,
      false,
    );
  }
}
