import { JOB_CANCEL_CHANNEL } from '@app/common';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { JobProcessor } from './job-processor.service';

/**
 * Listens for the API's cancel requests on their own connection (a subscribed connection can do
 * nothing else); ioredis subscribes again by itself after a reconnect.
 */
@Injectable()
export class CancelListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CancelListener.name);
  private readonly subscriber: Redis;

  constructor(
    config: ConfigService<GpuNodeEnv, true>,
    private readonly processor: JobProcessor,
  ) {
    this.subscriber = new Redis(config.get('REDIS_URL', { infer: true }), {
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    this.subscriber.on('error', () => undefined);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber.on('message', (channel: string, jobId: string) => {
      if (channel !== JOB_CANCEL_CHANNEL) return;
      this.logger.debug(`cancel requested for job ${jobId}`);
      this.processor.cancel(jobId);
    });
    // Queued by ioredis until Redis is reachable, so a node started before Redis still listens.
    await this.subscriber.subscribe(JOB_CANCEL_CHANNEL);
  }

  onApplicationShutdown(): void {
    this.subscriber.disconnect();
  }
}
