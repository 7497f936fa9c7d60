import { TranscribeTask } from '@app/common';
import { Controller, Get, HttpStatus, Post, Req, Res, UploadedFile, UseFilters, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { OpenAiAudioService, UploadedAudio } from './openai-audio.service';
import { OpenAiAudioRoute, OpenAiModelsRoute } from './openai-docs';
import { OpenAiErrorFilter } from './openai-errors';
import { OpenAiModelsService } from './openai-models.service';

/** OpenAI's audio API (transcriptions, translations) and model list, for clients that speak it. */
@Controller('v1')
@UseFilters(OpenAiErrorFilter)
export class OpenAiController {
  constructor(
    private readonly audio: OpenAiAudioService,
    private readonly models: OpenAiModelsService,
  ) {}

  @Post('audio/transcriptions')
  @OpenAiAudioRoute()
  @UseInterceptors(FileInterceptor('file'))
  transcriptions(@UploadedFile() file: UploadedAudio | undefined, @Req() req: Request, @Res() res: Response) {
    return this.answer('transcribe', file, req, res);
  }

  @Post('audio/translations')
  @OpenAiAudioRoute()
  @UseInterceptors(FileInterceptor('file'))
  translations(@UploadedFile() file: UploadedAudio | undefined, @Req() req: Request, @Res() res: Response) {
    return this.answer('translate', file, req, res);
  }

  @Get('models')
  @OpenAiModelsRoute()
  listModels() {
    return this.models.list();
  }

  private async answer(task: TranscribeTask, file: UploadedAudio | undefined, req: Request, res: Response): Promise<void> {
    const answer = await this.audio.answer(task, (req.body ?? {}) as Record<string, unknown>, file);
    res.setHeader('X-Job-Id', answer.jobId);
    res.status(HttpStatus.OK).type(answer.contentType);
    res.send(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  }
}
