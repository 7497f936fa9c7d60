import { Injectable, NestMiddleware } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NextFunction, Request, Response } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { ApiKeys } from '../security/api-keys';

const requestKeys = new AsyncLocalStorage<string>();

/** The non-secret name (`key-0`, …) of the API key the current request came with. */
export function currentKeyId(): string {
  return requestKeys.getStore() ?? 'unknown-key';
}

/**
 * Remembers, for the rest of the request, which configured key it carries, so that per-key limits
 * apply wherever a job is submitted from without every controller passing the key along.
 */
@Injectable()
export class RequestKeyMiddleware implements NestMiddleware {
  private readonly keys: ApiKeys;

  constructor(config: ConfigService) {
    this.keys = new ApiKeys(config.getOrThrow<string>('X_API_KEY'));
  }

  use(request: Request, _response: Response, next: NextFunction): void {
    requestKeys.run(this.keys.idOf(request.headers['x-api-key']) ?? 'unknown-key', next);
  }
}
