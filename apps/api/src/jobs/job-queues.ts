import { BULL_PREFIX } from '@app/common';
import { BullModule } from '@nestjs/bull';
import { DynamicModule, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { ApiEnv } from '../config/api-env';

const RECONNECT_MAX_DELAY_MS = 2000;

/**
 * The connections Bull opens in this process. The command connection fails fast while Redis is
 * away instead of queueing commands, so a submission answers 503 at once rather than hanging, and
 * a job can never be added behind the API's back after the client was told it failed. Bull does
 * not close connections it did not create, so they are closed here.
 */
@Injectable()
export class BullConnections implements OnApplicationShutdown {
  private readonly clients: Redis[] = [];

  constructor(private readonly config: ConfigService<ApiEnv, true>) {}

  create(type: 'client' | 'subscriber' | 'bclient'): Redis {
    const url = this.config.get('REDIS_URL', { infer: true });
    const retryStrategy = (attempt: number) => Math.min(attempt * 200, RECONNECT_MAX_DELAY_MS);
    const client =
      type === 'client'
        ? new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy })
        : new Redis(url, { enableReadyCheck: false, maxRetriesPerRequest: null, retryStrategy });
    // Bull reports connection errors through its queues; an unhandled 'error' would only be noise.
    client.on('error', () => undefined);
    this.clients.push(client);
    return client;
  }

  onApplicationShutdown(): void {
    for (const client of this.clients) client.disconnect();
  }
}

@Module({ providers: [BullConnections], exports: [BullConnections] })
export class BullConnectionsModule {}

/** Bull's root configuration for every queue of the API (the job queues and the webhook queue). */
export function bullRootModule(): DynamicModule {
  return BullModule.forRootAsync({
    imports: [BullConnectionsModule],
    inject: [BullConnections],
    useFactory: (connections: BullConnections) => ({
      prefix: BULL_PREFIX,
      createClient: (type) => connections.create(type),
    }),
  });
}
