import { JobStore } from '@app/common';
import { Module } from '@nestjs/common';
import { JobEventsService } from './job-events.service';
import { jobQueueByOperationProvider, jobQueueModules } from './job-queues';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { VideoController } from './video.controller';

@Module({
  imports: [jobQueueModules],
  controllers: [VideoController, JobsController],
  providers: [JobStore, JobEventsService, JobsService, jobQueueByOperationProvider],
  exports: [JobsService, JobStore],
})
export class JobsModule {}
