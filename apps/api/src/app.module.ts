import { RedisModule, validateEnv } from '@app/common';
import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AuthModule } from './auth/auth.module';
import { ApiEnv } from './config/api-env';
import { HealthModule } from './health/health.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: true, validate: validateEnv(ApiEnv) }),
    RedisModule,
    AuthModule,
    HealthModule,
  ],
})
export class AppModule {}
