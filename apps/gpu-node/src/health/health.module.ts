import { Module } from '@nestjs/common';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { WorkerModule } from '../worker/worker.module';
import { HealthServer } from './health-server.service';

@Module({
  imports: [LifecycleModule, WorkerModule],
  providers: [HealthServer],
  exports: [HealthServer],
})
export class HealthModule {}
