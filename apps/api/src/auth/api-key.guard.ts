import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { identifiedClientOf } from '../tenancy/client-identity.middleware';
import { IS_PUBLIC } from './public.decorator';

/**
 * Every route needs a key (X-API-Key, or Authorization: Bearer) unless marked @Public(). The key
 * was matched by ClientIdentityMiddleware (apps/api/src/tenancy), which runs before any guard:
 * here a request passes when it was identified as some client.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    if (identifiedClientOf(context.switchToHttp().getRequest<Request>())) return true;
    throw new UnauthorizedException({
      error: 'Unauthorized',
      message: 'Invalid or missing API key',
    });
  }
}
