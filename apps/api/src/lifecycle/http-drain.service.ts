import { BeforeApplicationShutdown, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';

/** In-flight requests get this long to be answered after SIGTERM; a sync job past it gets the 202 it would get anyway. */
const DRAIN_TIMEOUT_MS = 25_000;

/**
 * On shutdown, first stop accepting connections and let the requests in flight be answered, and
 * only then let the other modules close Redis and the queues those requests still need. Nest
 * closes the HTTP server last by default; this runs in the root module, whose destroy hook runs
 * before every other module's.
 */
@Injectable()
export class HttpDrain implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(HttpDrain.name);
  private drained?: Promise<void>;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleDestroy(): Promise<void> {
    return this.drain();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.drain();
  }

  private drain(): Promise<void> {
    this.drained ??= this.closeServer();
    return this.drained;
  }

  private closeServer(): Promise<void> {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn(`requests still open after ${DRAIN_TIMEOUT_MS} ms; closing their connections`);
        server.closeAllConnections();
      }, DRAIN_TIMEOUT_MS);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
  }
}
