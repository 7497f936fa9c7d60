import { Module } from '@nestjs/common';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { MetricsModule } from '../metrics/metrics.module';
import { WorkerModule } from '../worker/worker.module';
import { HealthServer } from './health-server.service';

@Module({
  imports: [LifecycleModule, WorkerModule, MetricsModule],
  providers: [HealthServer],
  exports: [HealthServer],
})
export class HealthModule {}
