import { JobEndingModule } from '@app/common';
import { Module } from '@nestjs/common';
import { AdmissionModule } from '../admission/admission.module';
import { StorageModule } from '../storage/storage.module';
import { JobEventsService } from './job-events.service';
import { ExecutorsModule } from '../executors/executors.module';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { AudioController } from './audio.controller';
import { VideoController } from './video.controller';

@Module({
  imports: [ExecutorsModule, JobEndingModule, AdmissionModule, StorageModule],
  controllers: [VideoController, AudioController, JobsController],
  providers: [JobEventsService, JobsService],
  exports: [JobsService, JobEndingModule],
})
export class JobsModule {}
