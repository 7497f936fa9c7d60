import { BULL_PREFIX, JOB_QUEUES, WEBHOOK_QUEUE } from '@app/common';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Bull from 'bull';
import Redis, { RedisOptions } from 'ioredis';

export const INSPECTED_QUEUES: readonly string[] = [...Object.values(JOB_QUEUES), WEBHOOK_QUEUE];

/**
 * Read-only handles on every Bull queue of the service, for Bull Board and the queue-depth
 * metrics. They never process jobs, so one Redis connection serves all of them; they exist
 * apart from the job module's own handles so operators can look at queues whatever that module
 * has registered.
 */
@Injectable()
export class QueueInspector implements OnApplicationShutdown {
  readonly queues: Bull.Queue[];
  private readonly connections: Redis[] = [];

  constructor(config: ConfigService) {
    const url = config.getOrThrow<string>('REDIS_URL');
    // Bull refuses these two options on its subscriber connection, and blocks forever without them.
    const options: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: false };
    let shared: Redis | undefined;
    const connect = () => {
      const connection = new Redis(url, options);
      connection.on('error', () => undefined);
      this.connections.push(connection);
      return connection;
    };
    this.queues = INSPECTED_QUEUES.map(
      (name) =>
        new Bull(name, {
          prefix: BULL_PREFIX,
          createClient: (type) => {
            if (type !== 'client') return connect();
            shared ??= connect();
            return shared;
          },
        }),
    );
  }

  onApplicationShutdown(): void {
    for (const connection of this.connections) connection.disconnect();
  }
}
