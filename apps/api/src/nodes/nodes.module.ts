import { Module } from '@nestjs/common';
import { NodeRegistryService } from './node-registry.service';

@Module({
  providers: [NodeRegistryService],
  exports: [NodeRegistryService],
})
export class NodesModule {}
