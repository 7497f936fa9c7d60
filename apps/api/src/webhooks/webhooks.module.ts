import { JobStore, WEBHOOK_BACKOFF, WEBHOOK_QUEUE } from '@app/common';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { WebhookProcessor } from './webhook.processor';
import { WebhookSender } from './webhook-sender';
import { WEBHOOK_SETTINGS, webhookSettingsFrom } from './webhook-settings';

// Values are strings in the environment; the validated ApiEnv holds some as numbers.
const envReader = (config: ConfigService) => (name: string) => {
  const value = config.get<string | number | undefined>(name);
  return value === undefined ? undefined : String(value);
};

/**
 * Webhook delivery: consumes WEBHOOK_QUEUE with the documented retry schedule. Needs Bull's root
 * configuration (BullModule.forRoot) and the Redis client from the application module.
 */
@Module({
  imports: [
    BullModule.registerQueueAsync({
      name: WEBHOOK_QUEUE,
      inject: [ConfigService],
      useFactory: (config: ConfigService) => {
        const delays = webhookSettingsFrom(envReader(config)).retryDelaysMs;
        return {
          settings: {
            backoffStrategies: {
              // Bull passes the failed attempts so far: 1 after the first, so delays[0] comes first.
              [WEBHOOK_BACKOFF]: (attemptsMade: number) => delays[Math.min(attemptsMade, delays.length) - 1],
            },
          },
        };
      },
    }),
  ],
  providers: [
    {
      provide: WEBHOOK_SETTINGS,
      inject: [ConfigService],
      useFactory: (config: ConfigService) => webhookSettingsFrom(envReader(config)),
    },
    JobStore,
    WebhookSender,
    WebhookProcessor,
  ],
})
export class WebhooksModule {}
