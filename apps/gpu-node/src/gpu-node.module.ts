import { RedisModule, configModuleFor } from '@app/common';
import { Module } from '@nestjs/common';
import { GpuNodeEnv } from './config/gpu-node-env';
import { HealthModule } from './health/health.module';
import { HeartbeatModule } from './heartbeat/heartbeat.module';
import { JobsModule } from './jobs/jobs.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { WorkerModule } from './worker/worker.module';

@Module({
  imports: [
    configModuleFor(GpuNodeEnv),
    RedisModule,
    LifecycleModule,
    WorkerModule,
    HeartbeatModule,
    HealthModule,
    JobsModule,
  ],
})
export class GpuNodeModule {}
