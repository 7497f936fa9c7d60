import { Module } from '@nestjs/common';
import { WorkerPool } from './worker-pool.service';

@Module({
  providers: [WorkerPool],
  exports: [WorkerPool],
})
export class WorkerModule {}
