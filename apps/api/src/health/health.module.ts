import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { NodesModule } from '../nodes/nodes.module';
import { StorageModule } from '../storage/storage.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), StorageModule, NodesModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
