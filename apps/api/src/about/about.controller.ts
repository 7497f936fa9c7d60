import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Public } from '../auth/public.decorator';
import { ApiEnv } from '../config/api-env';

const ROUTES = [
  ['GET', '/health', 'Service health, with Redis, MinIO and the live GPU nodes (no key)'],
  ['POST', '/video/caption', 'Burn SRT/ASS subtitles into a video'],
  ['POST', '/video/caption_style', 'Burn subtitles with a custom style'],
  ['GET', '/video/caption/styles', 'Caption style presets, with their fields'],
  ['POST', '/video/img2vid', 'Turn images into Ken Burns clips'],
  ['POST', '/video/addaudio', 'Add or replace the audio track of a video'],
  ['POST', '/video/{caption,img2vid,addaudio}/async', 'Queue a job and answer at once'],
  ['POST', '/video/concatenate', 'Join clips into one video (stream copy when they match)'],
  ['POST', '/video/concat_video_audio', 'Lay clips, cycled, under a narration'],
  ['POST', '/video/trilhasonora', "Music under a video's narration"],
  ['POST', '/audio/trilhasonora', 'Music under a narration (audio)'],
  ['POST', '/audio/concatenate', 'Join audio files into one'],
  ['POST', '/video/compose', 'A finished video: images, narration, music and captions in one job'],
  ['POST', '/transcribe', 'Transcribe audio into SRT, karaoke ASS and word timings'],
  ['GET', '/transcribe/health', 'Transcription health (no key)'],
  ['GET', '/job/:jobId', 'Job status (also /video/job/:jobId)'],
  ['GET', '/video/job/:jobId/result', 'Job result: 202 while it runs, 200 once it has ended'],
  ['POST', '/job/:jobId/cancel', 'Cancel a queued or running job'],
  ['GET', '/runpod/health', 'RunPod executor status'],
  ['GET', '/runpod/config', 'RunPod executor configuration'],
] as const;

/** What the service is and which routes it answers, for someone who found its address. */
@Controller()
export class AboutController {
  private readonly serviceName: string;

  constructor(config: ConfigService<ApiEnv, true>) {
    this.serviceName = config.get('SERVICE_NAME', { infer: true });
  }

  @Public()
  @Get()
  describe() {
    return {
      service: this.serviceName,
      description:
        'GPU media processing: captions, image-to-video, audio replacement and transcription, ' +
        'run on local GPU nodes, results uploaded to S3/MinIO',
      authentication:
        'X-API-Key header on every route but GET /, /health, /health/ready, /transcribe/health, /docs and /metrics',
      execution:
        'Synchronous by default; send "Prefer: respond-async" or "async": true for a 202 with the job id, ' +
        'and "webhook_url" to receive the final response',
      endpoints: ROUTES.map(([method, path, description]) => ({ method, path, description })),
    };
  }
}
