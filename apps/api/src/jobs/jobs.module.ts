import { JobEndingModule } from '@app/common';
import { Module } from '@nestjs/common';
import { JobEventsService } from './job-events.service';
import { ExecutorsModule } from '../executors/executors.module';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { VideoController } from './video.controller';

@Module({
  imports: [ExecutorsModule, JobEndingModule],
  controllers: [VideoController, JobsController],
  providers: [JobEventsService, JobsService],
  exports: [JobsService, JobEndingModule],
})
export class JobsModule {}
