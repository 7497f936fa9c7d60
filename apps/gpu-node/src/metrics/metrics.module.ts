import { JobStore } from '@app/common';
import { Module } from '@nestjs/common';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { WorkerModule } from '../worker/worker.module';
import { NodeMetrics } from './node-metrics.service';

/** The node's Prometheus metrics, served on its health port at /metrics. */
@Module({
  imports: [LifecycleModule, WorkerModule],
  providers: [NodeMetrics, JobStore],
  exports: [NodeMetrics],
})
export class MetricsModule {}
