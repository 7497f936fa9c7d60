import {
  AddAudioRequest,
  CAPTION_PRESETS,
  CAPTION_PRESET_NAMES,
  CaptionRequest,
  CaptionStyleRequest,
  ComposeRequest,
  ConcatVideoAudioRequest,
  ConcatenateRequest,
  TrilhaSonoraRequest,
  Img2VidRequest,
  JobOperation,
  JobRequest,
  apiOptionsOf,
} from '@app/common';
import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { acceptedBody } from './job-responses';
import { JobSubmissionRoute } from './job-route-docs';
import { JobsService } from './jobs.service';
import { prefersAsync } from './prefer-async';

/** The video routes of the REST contract, and the legacy /async and job routes under /video. */
@Controller('video')
export class VideoController {
  constructor(private readonly jobs: JobsService) {}

  @Post('caption')
  @JobSubmissionRoute()
  caption(@Body() body: CaptionRequest, @Headers('prefer') prefer: string | undefined, @Res({ passthrough: true }) res: Response) {
    return this.run(JobOperation.Caption, body, prefer, res);
  }

  @Post('caption_style')
  @JobSubmissionRoute()
  captionStyle(
    @Body() body: CaptionStyleRequest,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.run(JobOperation.Caption, body, prefer, res);
  }

  /** The caption style presets a request may name in `style.preset`, each with its fields. */
  @Get('caption/styles')
  captionStyles() {
    return { styles: CAPTION_PRESET_NAMES.map((name) => ({ name, style: CAPTION_PRESETS[name] })) };
  }

  @Post('img2vid')
  @JobSubmissionRoute()
  img2vid(@Body() body: Img2VidRequest, @Headers('prefer') prefer: string | undefined, @Res({ passthrough: true }) res: Response) {
    return this.run(JobOperation.Img2Vid, body, prefer, res);
  }

  @Post('addaudio')
  @JobSubmissionRoute()
  addaudio(@Body() body: AddAudioRequest, @Headers('prefer') prefer: string | undefined, @Res({ passthrough: true }) res: Response) {
    return this.run(JobOperation.AddAudio, body, prefer, res);
  }

  @Post('concatenate')
  @JobSubmissionRoute()
  concatenate(
    @Body() body: ConcatenateRequest,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.run(JobOperation.Concatenate, body, prefer, res);
  }

  @Post('concat_video_audio')
  @JobSubmissionRoute()
  concatVideoAudio(
    @Body() body: ConcatVideoAudioRequest,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.run(JobOperation.ConcatVideoAudio, body, prefer, res);
  }

  @Post('trilhasonora')
  @JobSubmissionRoute()
  trilhaSonora(
    @Body() body: TrilhaSonoraRequest,
    @Headers('prefer') prefer: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.run(JobOperation.TrilhaSonora, body, prefer, res);
  }

  @Post('compose')
  @JobSubmissionRoute()
  compose(@Body() body: ComposeRequest, @Headers('prefer') prefer: string | undefined, @Res({ passthrough: true }) res: Response) {
    return this.run(JobOperation.Compose, body, prefer, res);
  }

  // The replaced service's asynchronous routes answered 200, not 202; their clients expect that.
  @Post('caption/async')
  @HttpCode(HttpStatus.OK)
  captionAsync(@Body() body: CaptionRequest) {
    return this.queue(JobOperation.Caption, body);
  }

  @Post('img2vid/async')
  @HttpCode(HttpStatus.OK)
  img2vidAsync(@Body() body: Img2VidRequest) {
    return this.queue(JobOperation.Img2Vid, body);
  }

  @Post('addaudio/async')
  @HttpCode(HttpStatus.OK)
  addaudioAsync(@Body() body: AddAudioRequest) {
    return this.queue(JobOperation.AddAudio, body);
  }

  @Get('job/:jobId')
  status(@Param('jobId') jobId: string) {
    return this.jobs.status(jobId);
  }

  @Get('job/:jobId/result')
  async result(@Param('jobId') jobId: string, @Res({ passthrough: true }) res: Response) {
    const reply = await this.jobs.result(jobId);
    res.status(reply.status);
    return reply.body;
  }

  private async run(operation: JobOperation, body: JobRequest, prefer: string | undefined, res: Response) {
    const { input, options } = apiOptionsOf(body);
    const reply = await this.jobs.submit({
      operation,
      input: input,
      options: { ...options, async: options.async || prefersAsync(prefer) },
    });
    res.status(reply.status);
    return reply.body;
  }

  private async queue(operation: JobOperation, body: JobRequest) {
    const { input, options } = apiOptionsOf(body);
    const record = await this.jobs.accept({ operation, input: input, options: { ...options, async: true } });
    return acceptedBody(record);
  }
}
