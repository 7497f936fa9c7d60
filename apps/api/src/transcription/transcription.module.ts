import { Module } from '@nestjs/common';
import { ExecutorsModule } from '../executors/executors.module';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { TranscriptionController } from './transcription.controller';
import { WhisperHealthService } from './whisper-health.service';

@Module({
  imports: [JobsModule, NodesModule, ExecutorsModule],
  controllers: [TranscriptionController],
  providers: [WhisperHealthService],
})
export class TranscriptionModule {}
