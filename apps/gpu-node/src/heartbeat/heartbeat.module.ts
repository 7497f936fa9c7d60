import { Module } from '@nestjs/common';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { WorkerModule } from '../worker/worker.module';
import { HeartbeatService } from './heartbeat.service';

@Module({
  imports: [LifecycleModule, WorkerModule],
  providers: [HeartbeatService],
  exports: [HeartbeatService],
})
export class HeartbeatModule {}
