import { JobStore, WEBHOOK_QUEUE } from '@app/common';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { AdmissionModule } from '../admission/admission.module';
import { JobEventsService } from './job-events.service';
import { ExecutorsModule } from '../executors/executors.module';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { AudioController } from './audio.controller';
import { VideoController } from './video.controller';

@Module({
  // The webhook queue is only produced to here (a cancelled job's webhook); WebhooksModule consumes it.
  imports: [ExecutorsModule, AdmissionModule, BullModule.registerQueue({ name: WEBHOOK_QUEUE })],
  controllers: [VideoController, AudioController, JobsController],
  providers: [JobStore, JobEventsService, JobsService],
  exports: [JobsService, JobStore],
})
export class JobsModule {}
