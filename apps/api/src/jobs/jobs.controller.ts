import { Controller, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
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
  @HttpCode(HttpStatus.OK)
  cancel(@Param('jobId') jobId: string) {
    return this.jobs.cancel(jobId);
  }
}
