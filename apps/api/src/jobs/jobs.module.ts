import { JobStore, WEBHOOK_QUEUE } from '@app/common';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { JobEventsService } from './job-events.service';
import { jobQueueByOperationProvider, jobQueueModules } from './job-queues';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { VideoController } from './video.controller';

@Module({
  // The webhook queue is only produced to here (a cancelled job's webhook); WebhooksModule consumes it.
  imports: [jobQueueModules, BullModule.registerQueue({ name: WEBHOOK_QUEUE })],
  controllers: [VideoController, JobsController],
  providers: [JobStore, JobEventsService, JobsService, jobQueueByOperationProvider],
  exports: [JobsService, JobStore],
})
export class JobsModule {}
