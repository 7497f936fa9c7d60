import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { ApiKeyThrottlerGuard } from './api-key-throttler.guard';
import { securityEnvFrom } from './security-env';

/** Per-key rate limiting (RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_S seconds). */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => {
        const env = securityEnvFrom(config);
        return { throttlers: [{ ttl: env.RATE_LIMIT_WINDOW_S * 1000, limit: env.RATE_LIMIT_MAX }] };
      },
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: ApiKeyThrottlerGuard }],
})
export class SecurityModule {}
