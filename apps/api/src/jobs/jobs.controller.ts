import { Controller, Get, Param, Post } from '@nestjs/common';
import { JobCancelRoute } from './job-route-docs';
import { JobsService } from './jobs.service';

/** A job's status and its cancellation, whatever its operation. */
@Controller('job')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get(':jobId')
  status(@Param('jobId') jobId: string) {
    return this.jobs.status(jobId);
  }

  @Post(':jobId/cancel')
  @JobCancelRoute()
  cancel(@Param('jobId') jobId: string) {
    return this.jobs.cancel(jobId);
  }
}
