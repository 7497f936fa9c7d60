import { JobOperation } from '@app/common';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import ffmpeg, { FfprobeData } from 'fluent-ffmpeg';
import { GpuNodeEnv } from '../config/gpu-node-env';

/** The output the worker reported is not a playable video: an infrastructure failure, retried. */
export class OutputCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputCheckError';
  }
}

/** Gives up on an unreachable object instead of letting one probe hold a slot (microseconds). */
const PROBE_IO_TIMEOUT_US = '30000000';

/**
 * Probes every video a job produced, through the URL the client will be given, before the job is
 * reported done: it must exist, hold a video stream and last longer than zero.
 */
@Injectable()
export class OutputCheck {
  private readonly enabled: boolean;

  constructor(config: ConfigService<GpuNodeEnv, true>) {
    this.enabled = config.get('OUTPUT_PROBE', { infer: true });
  }

  async verify(operation: JobOperation, output: Record<string, unknown>): Promise<void> {
    if (!this.enabled) return;
    for (const { url, field } of videoUrls(operation, output)) {
      await this.verifyVideo(url, field);
    }
  }

  private async verifyVideo(url: string, field: string): Promise<void> {
    let data: FfprobeData;
    try {
      data = await new Promise<FfprobeData>((resolve, reject) =>
        ffmpeg.ffprobe(url, ['-rw_timeout', PROBE_IO_TIMEOUT_US], (error, probed) =>
          error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(probed),
        ),
      );
    } catch (error) {
      throw new OutputCheckError(`${field}: the output cannot be probed: ${lastLine(error)}`);
    }
    if (!data.streams.some((stream) => stream.codec_type === 'video')) {
      throw new OutputCheckError(`${field}: the output has no video stream`);
    }
    const duration = Number(data.format.duration);
    if (!(duration > 0)) {
      throw new OutputCheckError(`${field}: the output has no duration`);
    }
  }
}

function videoUrls(operation: JobOperation, output: Record<string, unknown>): { url: string; field: string }[] {
  switch (operation) {
    case JobOperation.Caption:
    case JobOperation.AddAudio:
    case JobOperation.Concatenate:
    case JobOperation.ConcatVideoAudio:
    case JobOperation.TrilhaSonora:
      return [{ url: requireUrl(output.video_url, 'video_url'), field: 'video_url' }];
    case JobOperation.Img2Vid: {
      const videos = output.videos;
      if (!Array.isArray(videos) || videos.length === 0) {
        throw new OutputCheckError('videos: the worker returned no video');
      }
      return videos.map((video: { video_url?: unknown }, index) => {
        const field = `videos[${index}].video_url`;
        return { url: requireUrl(video?.video_url, field), field };
      });
    }
    case JobOperation.Transcribe:
    case JobOperation.AudioTrilhaSonora:
    case JobOperation.AudioConcatenate:
      return [];
  }
}

function requireUrl(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
    throw new OutputCheckError(`${field}: the worker returned no http(s) URL`);
  }
  return value;
}

/** ffprobe's message ends with its stderr; the last line is the reason, without the URL's query. */
function lastLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.trim().split('\n');
  return lines[lines.length - 1].replace(/\?[^\s:]*/g, '');
}
