import { RedisModule, validateEnv } from '@app/common';
import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { GpuNodeEnv } from './config/gpu-node-env';
import { HeartbeatModule } from './heartbeat/heartbeat.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: true, validate: validateEnv(GpuNodeEnv) }),
    RedisModule,
    HeartbeatModule,
  ],
})
export class GpuNodeModule {}
