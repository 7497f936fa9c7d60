import { RedisModule, configModuleFor } from '@app/common';
import { Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { ApiEnv } from './config/api-env';
import { HealthModule } from './health/health.module';

@Module({
  imports: [
    configModuleFor(ApiEnv),
    RedisModule,
    AuthModule,
    HealthModule,
  ],
})
export class AppModule {}
