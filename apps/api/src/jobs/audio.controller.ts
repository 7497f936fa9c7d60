import { AudioConcatenateRequest, AudioTrilhaSonoraRequest, JobOperation, JobRequest, apiOptionsOf } from '@app/common';
import { Body, Controller, Headers, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { JobSubmissionRoute } from './job-route-docs';
import { JobsService } from './jobs.service';
import { prefersAsync } from './prefer-async';

/** The audio routes: jobs whose result is an audio file. */
@Controller('audio')
export class AudioController {
  constructor(private readonly jobs: JobsService) {}

  @Post('trilhasonora')
  @JobSubmissionRoute()
  trilhaSonora(
    @Body() body: AudioTrilhaSonoraRequest,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.run(JobOperation.AudioTrilhaSonora, body, prefer, res);
  }

  @Post('concatenate')
  @JobSubmissionRoute()
  concatenate(
    @Body() body: AudioConcatenateRequest,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.run(JobOperation.AudioConcatenate, body, prefer, res);
  }

  private async run(operation: JobOperation, body: JobRequest, prefer: string | undefined, res: Response) {
    const { input, options } = apiOptionsOf(body);
    const reply = await this.jobs.submit({
      operation,
      input,
      options: { ...options, async: options.async || prefersAsync(prefer) },
    });
    res.status(reply.status);
    return reply.body;
  }
}
