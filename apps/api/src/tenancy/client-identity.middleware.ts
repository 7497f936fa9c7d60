import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { ApiClients } from './api-clients.service';
import { ANONYMOUS_CLIENT, ClientIdentity, runAsClient } from './client-identity';
import { presentedKey } from './presented-key';

const requestIdentities = new WeakMap<IncomingMessage, ClientIdentity>();

/** The client whose key a request presented, or null when its key matched none (or it had none). */
export function identifiedClientOf(request: IncomingMessage): ClientIdentity | null {
  return requestIdentities.get(request) ?? null;
}

/**
 * Matches the request's key once, before guards run: the guard then only asks whether a client
 * was found, and the rest of the request (admission, job lookups) reads currentClient() without
 * every controller passing the identity along.
 */
@Injectable()
export class ClientIdentityMiddleware implements NestMiddleware {
  constructor(private readonly clients: ApiClients) {}

  use(request: Request, _response: Response, next: NextFunction): void {
    const client = this.clients.identify(presentedKey(request.headers));
    if (client) requestIdentities.set(request, client);
    runAsClient(client ?? ANONYMOUS_CLIENT, next);
  }
}
