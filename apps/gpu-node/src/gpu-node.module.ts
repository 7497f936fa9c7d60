import { RedisModule, configModuleFor } from '@app/common';
import { Module } from '@nestjs/common';
import { GpuNodeEnv } from './config/gpu-node-env';
import { HeartbeatModule } from './heartbeat/heartbeat.module';

@Module({
  imports: [
    configModuleFor(GpuNodeEnv),
    RedisModule,
    HeartbeatModule,
  ],
})
export class GpuNodeModule {}
