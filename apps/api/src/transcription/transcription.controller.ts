import { JobOperation, TranscribeRequest, apiOptionsOf } from '@app/common';
import { Body, Controller, Get, Headers, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { JobsService } from '../jobs/jobs.service';
import { prefersAsync } from '../jobs/prefer-async';
import { JobSubmissionRoute } from '../jobs/job-route-docs';
import { WhisperHealthService } from './whisper-health.service';

@Controller('transcribe')
export class TranscriptionController {
  constructor(
    private readonly jobs: JobsService,
    private readonly whisper: WhisperHealthService,
  ) {}

  @Post()
  @JobSubmissionRoute()
  async transcribe(
    @Body() body: TranscribeRequest,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { input, options } = apiOptionsOf(body);
    const reply = await this.jobs.submit({
      operation: JobOperation.Transcribe,
      input: input,
      options: { ...options, async: options.async || prefersAsync(prefer) },
    });
    res.status(reply.status);
    return reply.body;
  }

  // The transcription document calls this without a key.
  @Public()
  @Get('health')
  async health(@Res({ passthrough: true }) res: Response) {
    const body = await this.whisper.check();
    if (body.status !== 'healthy') res.status(503);
    return body;
  }
}
