import { Module } from '@nestjs/common';
import { NodeState } from './node-state.service';

@Module({
  providers: [NodeState],
  exports: [NodeState],
})
export class LifecycleModule {}
