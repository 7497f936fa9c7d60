import { JSONSchema } from 'class-validator-jsonschema';
import { EnumField, IntegerField, NestedArrayField, NestedField, NumberField, TextField } from './fields';
import { JobOperation } from './operations';

/*
 * What the worker returns for each operation, as the replaced service documented it. Fields it
 * did not document are ours and optional.
 */

const VideoUrlField = () =>
  TextField({
    description: 'Public URL of the uploaded video.',
    example: 'https://s3.example.com/canais/Project Name/Video Title/videos/video_legendado.mp4',
  });

const FilenameField = (example: string) =>
  TextField({ description: 'Name of the uploaded file under `path`.', example, optional: true });

const EncoderField = () =>
  TextField({
    description: 'FFmpeg video encoder that produced the file.',
    example: 'h264_nvenc',
    optional: true,
  });

const EncoderFallbackField = () =>
  TextField({
    description:
      'Why the file was encoded with libx264 rather than NVENC: no usable NVENC on the node (with `FFMPEG_ENCODER=auto`), or NVENC failing during this job. Absent when no fallback happened.',
    example: 'libx264 instead of h264_nvenc: the NVIDIA H200 has no NVENC engine (the A100, H100 and H200 have none)',
    optional: true,
  });

/** What the worker reports a job used; the API's usage ledger records it (apps/api/src/usage). */
@JSONSchema({ additionalProperties: false, description: 'What the job used on the worker.' })
export class JobUsage {
  @NumberField({ description: 'Seconds the worker ran the job.', example: 12.4, minimum: 0, maximum: 1e9 })
  run_s: number;

  @NumberField({
    description: 'Seconds of the run during which the GPU worked for the job (NVENC encodes, whisper on CUDA).',
    example: 9.8,
    minimum: 0,
    maximum: 1e9,
  })
  gpu_s: number;

  @NumberField({ description: 'The rest of the run: downloads, probes, uploads, CPU encodes and transcriptions.', example: 2.6, minimum: 0, maximum: 1e9 })
  cpu_s: number;

  @NumberField({ description: 'Seconds of video and audio the job read.', example: 60, minimum: 0, maximum: 1e12 })
  media_in_s: number;

  @NumberField({ description: 'Seconds of video and audio the job produced.', example: 60, minimum: 0, maximum: 1e12 })
  media_out_s: number;

  @IntegerField({ description: 'Images the job read.', example: 0, minimum: 0 })
  images: number;
}

const UsageField = () =>
  NestedField({
    description: 'What the job used on the worker, for the usage ledger.',
    example: { run_s: 12.4, gpu_s: 9.8, cpu_s: 2.6, media_in_s: 60, media_out_s: 60, images: 0 },
    optional: true,
    type: () => JobUsage,
  });

@JSONSchema({ additionalProperties: false, description: 'Result of a caption job.' })
export class CaptionJobResult {

  @UsageField()
  usage?: JobUsage;
  @VideoUrlField()
  video_url: string;

  @FilenameField('video_legendado.mp4')
  filename?: string;

  @EncoderField()
  encoder?: string;

  @EncoderFallbackField()
  encoder_fallback?: string;
  @EnumField({
    description:
      'Where the word times of a styled caption came from: measured (words.json, karaoke ASS tags, auto_captions) ' +
      'or interpolated (spread over each SRT cue by length); absent when the subtitles were burnt as they were.',
    example: 'measured',
    optional: true,
    values: ['measured', 'interpolated'] as const,
  })
  word_timing?: 'measured' | 'interpolated';

  @NestedField({
    description: 'auto_captions: what the video was transcribed to, uploaded beside it.',
    example: {
      language: 'pt',
      model: 'base',
      files: { segments: { srt: 'https://s3.example.com/canais/p/segments.srt', vtt: '', json: '' } },
    },
    optional: true,
    type: () => CaptionTranscript,
  })
  // CaptionTranscript is declared further down; a mapped type keeps the decorator metadata from naming it early.
  transcript?: Pick<CaptionTranscript, keyof CaptionTranscript>;
  @TextField({
    description:
      'Font family the captions were drawn in: the style\'s font, or the subtitle file\'s, as fontconfig resolved it (Arial: Liberation Sans).',
    example: 'Liberation Sans',
    optional: true,
  })
  font?: string;
}

@JSONSchema({ additionalProperties: false, description: 'Result of an addaudio job.' })
export class AddAudioJobResult {

  @UsageField()
  usage?: JobUsage;
  @VideoUrlField()
  video_url: string;

  @FilenameField('video_com_audio.mp4')
  filename?: string;

  @EncoderField()
  encoder?: string;

  @EncoderFallbackField()
  encoder_fallback?: string;

  @EnumField({
    description: 'Whether the video stream was copied as it was or re-encoded.',
    example: 'copied',
    optional: true,
    values: ['copied', 're-encoded'] as const,
  })
  video_stream?: 'copied' | 're-encoded';
}

@JSONSchema({ additionalProperties: false, description: 'One clip of an img2vid job.' })
export class Img2VidVideo {
  @TextField({ description: 'The `id` of the image the clip was made from.', example: 'img-1' })
  id: string;

  @VideoUrlField()
  video_url: string;

  @TextField({ description: 'Name of the uploaded clip under `path`.', example: 'video_1.mp4' })
  filename: string;
}

@JSONSchema({ additionalProperties: false, description: 'Result of an img2vid job.' })
export class Img2VidJobResult {

  @UsageField()
  usage?: JobUsage;
  @NestedArrayField({
    description: 'One clip per image, in the order of the images.',
    example: [
      {
        id: 'img-1',
        video_url: 'https://s3.example.com/canais/Project/videos/temp/video_1.mp4',
        filename: 'video_1.mp4',
      },
    ],
    type: () => Img2VidVideo,
  })
  videos: Img2VidVideo[];

  @EncoderField()
  encoder?: string;

  @EncoderFallbackField()
  encoder_fallback?: string;
}

@JSONSchema({
  additionalProperties: false,
  description: 'Segment-level subtitle files; a format not produced is an empty string.',
})
export class TranscriptionSegmentFiles {
  @TextField({ description: 'URL of segments.srt.', example: 'https://s3.example.com/canais/t/segments.srt' })
  srt: string;

  @TextField({ description: 'URL of segments.vtt (WebVTT, one cue per segment).', example: 'https://s3.example.com/canais/t/segments.vtt' })
  vtt: string;

  @TextField({ description: 'URL of the JSON timings.', example: 'https://s3.example.com/canais/t/words.json' })
  json: string;
}

@JSONSchema({
  additionalProperties: false,
  description: 'Word-level files; a format not produced is an empty string.',
})
export class TranscriptionWordFiles {
  @TextField({ description: 'URL of karaoke.ass.', example: 'https://s3.example.com/canais/t/karaoke.ass' })
  ass_karaoke: string;

  @TextField({
    description: 'URL of karaoke.vtt (WebVTT cues with inline word timestamps).',
    example: 'https://s3.example.com/canais/t/karaoke.vtt',
  })
  vtt_karaoke: string;

  @TextField({ description: 'URL of lyrics.lrc (enhanced LRC with word times).', example: 'https://s3.example.com/canais/t/lyrics.lrc' })
  lrc: string;

  @TextField({ description: 'URL of words.json.', example: 'https://s3.example.com/canais/t/words.json' })
  json: string;
}

@JSONSchema({ additionalProperties: false, description: 'Files a transcription produced.' })
export class TranscriptionFiles {
  @NestedField({
    description: 'Segment-level files.',
    example: {
      srt: 'https://s3.example.com/canais/t/segments.srt',
      vtt: 'https://s3.example.com/canais/t/segments.vtt',
      json: 'https://s3.example.com/canais/t/words.json',
    },
    type: () => TranscriptionSegmentFiles,
  })
  segments: TranscriptionSegmentFiles;

  @NestedField({
    description: 'Word-level files; absent when there are no word timestamps.',
    example: {
      ass_karaoke: 'https://s3.example.com/canais/t/karaoke.ass',
      vtt_karaoke: 'https://s3.example.com/canais/t/karaoke.vtt',
      lrc: 'https://s3.example.com/canais/t/lyrics.lrc',
      json: 'https://s3.example.com/canais/t/words.json',
    },
    optional: true,
    type: () => TranscriptionWordFiles,
  })
  words?: TranscriptionWordFiles;
}

@JSONSchema({ additionalProperties: false, description: 'The transcription auto_captions made.' })
export class CaptionTranscript {
  @TextField({ description: 'Language spoken, as detected or as asked for.', example: 'pt' })
  language: string;

  @TextField({ description: 'Model that transcribed.', example: 'base' })
  model: string;

  @NestedField({
    description: 'URLs of the transcript files.',
    example: { segments: { srt: 'https://s3.example.com/canais/p/segments.srt', vtt: '', json: '' } },
    type: () => TranscriptionFiles,
  })
  files: TranscriptionFiles;
}

@JSONSchema({ additionalProperties: false, description: 'Result of a transcribe job.' })
export class TranscribeJobResult {

  @UsageField()
  usage?: JobUsage;
  @TextField({ description: 'Language spoken, as detected or as asked for.', example: 'pt' })
  language: string;

  @TextField({
    description: 'Full text of the transcription.',
    example: 'Este é o texto completo da transcrição...',
  })
  transcription: string;

  @NestedField({
    description: 'URLs of the files produced.',
    example: {
      segments: { srt: 'https://s3.example.com/canais/t/segments.srt', vtt: '', json: '' },
    },
    type: () => TranscriptionFiles,
  })
  files: TranscriptionFiles;

  @IntegerField({ description: 'Number of segments.', example: 42, minimum: 0 })
  segments: number;

  @IntegerField({ description: 'Number of words.', example: 287, minimum: 0 })
  words: number;

  @TextField({ description: 'Model that transcribed.', example: 'large-v3' })
  model: string;

  @TextField({
    description: 'Model the job asked for (or defaulted to); differs from `model` when WHISPER_MODEL_ALIASES served it with another.',
    example: 'large-v3',
    optional: true,
  })
  model_requested?: string;

  @TextField({ description: 'Device the model ran on.', example: 'cuda' })
  device: string;

  @TextField({
    description:
      'Why the model ran on the CPU with `WHISPER_DEVICE=auto`: CUDA unusable on the worker (no GPU, or CTranslate2 unable to load cuBLAS/cuDNN). Absent when it ran where asked.',
    example: 'CPU int8 instead of CUDA: CTranslate2 4.8.5 cannot load libcublas.so.12 (it is built for CUDA 12)',
    optional: true,
  })
  device_fallback?: string;
}

const IdRoteiroEchoField = () =>
  IntegerField({ description: 'The `id_roteiro` of the request, when it had one.', example: 42, minimum: 0, optional: true });

@JSONSchema({ additionalProperties: false, description: 'Result of a concatenate job.' })
export class ConcatenateJobResult {

  @UsageField()
  usage?: JobUsage;
  @VideoUrlField()
  video_url: string;

  @FilenameField('video_concatenado.mp4')
  filename?: string;

  @EncoderField()
  encoder?: string;

  @EnumField({
    description: 'Whether the clips were joined by stream copy or normalised and re-encoded once.',
    example: 'copied',
    values: ['copied', 're-encoded'] as const,
  })
  video_stream: 'copied' | 're-encoded';

  @TextField({
    description: 'Why the clips were re-encoded (what differed between them, or the transition); absent when copied.',
    example: 'clips 1 and 2 differ in frame size (1920x1080, 1280x720)',
    optional: true,
  })
  normalized_reason?: string;

  @NumberField({ description: 'Duration of the result in seconds.', example: 31.5, minimum: 0, maximum: 1e9 })
  duration: number;

  @IdRoteiroEchoField()
  id_roteiro?: number;
}

@JSONSchema({ additionalProperties: false, description: 'Result of a concat_video_audio job.' })
export class ConcatVideoAudioJobResult {

  @UsageField()
  usage?: JobUsage;
  @VideoUrlField()
  video_url: string;

  @FilenameField('video_com_narracao.mp4')
  filename?: string;

  @EncoderField()
  encoder?: string;

  @NumberField({ description: 'Duration of the result in seconds: the narration\'s.', example: 61.2, minimum: 0, maximum: 1e9 })
  duration: number;

  @IntegerField({ description: 'Clip segments laid, the cut last one included.', example: 14, minimum: 1 })
  segments: number;

  @IdRoteiroEchoField()
  id_roteiro?: number;
}

/** What the music mix did, in figures. */
@JSONSchema({ additionalProperties: false, description: 'Levels of a music mix.' })
export class MusicMixLevels {
  @NumberField({ description: 'Integrated loudness of the narration, LUFS.', example: -18.2, minimum: -200, maximum: 10 })
  narration_lufs: number;

  @NumberField({ description: 'Integrated loudness of the music as laid, before ducking, LUFS.', example: -38.2, minimum: -200, maximum: 10 })
  music_lufs: number;

  @NumberField({ description: 'Gain applied to the music, dB.', example: -24.5, minimum: -200, maximum: 200 })
  music_gain_db: number;

  @NumberField({ description: 'Further reduction while the narration speaks, dB.', example: 6, minimum: 0, maximum: 40 })
  ducking_db: number;
}

const MixField = () =>
  NestedField({
    description: 'Levels of the mix.',
    example: { narration_lufs: -18.2, music_lufs: -38.2, music_gain_db: -24.5, ducking_db: 6 },
    type: () => MusicMixLevels,
  });

@JSONSchema({ additionalProperties: false, description: 'Result of a trilhasonora job.' })
export class TrilhaSonoraJobResult {

  @UsageField()
  usage?: JobUsage;
  @VideoUrlField()
  video_url: string;

  @FilenameField('video_com_trilha.mp4')
  filename?: string;

  @EnumField({ description: 'The video stream is always copied.', example: 'copied', values: ['copied'] as const })
  video_stream: 'copied';

  @MixField()
  mix: MusicMixLevels;

  @IdRoteiroEchoField()
  id_roteiro?: number;
}

@JSONSchema({ additionalProperties: false, description: 'Result of an audio_trilhasonora job.' })
export class AudioTrilhaSonoraJobResult {

  @UsageField()
  usage?: JobUsage;
  @TextField({ description: 'Public URL of the uploaded audio.', example: 'https://s3.example.com/canais/p/audio_with_trilha.mp3' })
  audio_url: string;

  @FilenameField('audio_with_trilha.mp3')
  filename?: string;

  @MixField()
  mix: MusicMixLevels;

  @IdRoteiroEchoField()
  id_roteiro?: number;
}

@JSONSchema({ additionalProperties: false, description: 'Result of an audio_concatenate job.' })
export class AudioConcatenateJobResult {

  @UsageField()
  usage?: JobUsage;
  @TextField({ description: 'Public URL of the uploaded audio.', example: 'https://s3.example.com/canais/p/audio_concatenated.mp3' })
  audio_url: string;

  @FilenameField('audio_concatenated.mp3')
  filename?: string;

  @NumberField({ description: 'Duration of the result in seconds.', example: 95.3, minimum: 0, maximum: 1e9 })
  duration: number;

  @IdRoteiroEchoField()
  id_roteiro?: number;
}

@JSONSchema({ additionalProperties: false, description: 'What the narration of a composed video was transcribed to.' })
export class ComposeTranscript {
  @TextField({ description: 'Language spoken, as detected or as asked for.', example: 'pt' })
  language: string;

  @TextField({ description: 'Model that transcribed.', example: 'base' })
  model: string;
}

@JSONSchema({ additionalProperties: false, description: 'The intermediates of a compose job (return_intermediates).' })
export class ComposeIntermediates {
  @TextField({
    description: 'The video without audio and without captions.',
    example: 'https://s3.example.com/canais/Project/videos/video_sem_audio.mp4',
  })
  video_url: string;

  @TextField({
    description: 'The narration mixed with the music (with music only).',
    example: 'https://s3.example.com/canais/Project/videos/audio_mixado.m4a',
    optional: true,
  })
  audio_url?: string;

  @NestedField({
    description: 'The transcript files of the narration (with captions.auto only).',
    example: { segments: { srt: 'https://s3.example.com/canais/p/segments.srt', vtt: '', json: '' } },
    optional: true,
    type: () => TranscriptionFiles,
  })
  transcript_files?: TranscriptionFiles;
}

@JSONSchema({ additionalProperties: false, description: 'Result of a compose job.' })
export class ComposeJobResult {
  @VideoUrlField()
  video_url: string;

  @FilenameField('video_final.mp4')
  filename?: string;

  @EncoderField()
  encoder?: string;

  @EncoderFallbackField()
  encoder_fallback?: string;

  @NumberField({ description: "Duration of the video in seconds: the narration's, in whole frames.", example: 60.0, minimum: 0, maximum: 1e9 })
  duration: number;

  @NumberField({ description: 'Duration of the narration in seconds (never cut).', example: 60.01, minimum: 0, maximum: 1e9 })
  narration_duration: number;

  @NumberField({ description: 'What the images would last end to end, transitions included, in seconds.', example: 58, minimum: 0, maximum: 1e9 })
  images_duration: number;

  @EnumField({
    description:
      'How the images were fitted to the narration: exact, last_image_extended (the last image held until the narration ends) ' +
      'or images_cut (the video cut at the narration\'s end).',
    example: 'last_image_extended',
    values: ['exact', 'last_image_extended', 'images_cut'] as const,
  })
  duration_fit: 'exact' | 'last_image_extended' | 'images_cut';

  @IntegerField({ description: 'Images on screen (fewer than given when the video was cut).', example: 12, minimum: 1 })
  images_shown: number;

  @EnumField({
    description: 'Where the word times of the captions came from (with captions).',
    example: 'measured',
    optional: true,
    values: ['measured', 'interpolated'] as const,
  })
  word_timing?: 'measured' | 'interpolated';

  @TextField({ description: 'Font family the captions were drawn in (with captions).', example: 'DejaVu Sans', optional: true })
  font?: string;

  @NestedField({
    description: 'captions.auto: what the narration was transcribed to.',
    example: { language: 'pt', model: 'base' },
    optional: true,
    type: () => ComposeTranscript,
  })
  transcript?: ComposeTranscript;

  @NestedField({
    description: 'Levels of the music mix (with music).',
    example: { narration_lufs: -18.2, music_lufs: -38.2, music_gain_db: -24.5, ducking_db: 6 },
    optional: true,
    type: () => MusicMixLevels,
  })
  mix?: MusicMixLevels;

  @NestedField({
    description: 'return_intermediates: the intermediate files, uploaded under `path`.',
    example: { video_url: 'https://s3.example.com/canais/Project/videos/video_sem_audio.mp4' },
    optional: true,
    type: () => ComposeIntermediates,
  })
  intermediates?: ComposeIntermediates;

  @IdRoteiroEchoField()
  id_roteiro?: number;
}

/** The result class of each operation. */
export const JOB_RESULT_CLASSES = {
  [JobOperation.Caption]: CaptionJobResult,
  [JobOperation.Img2Vid]: Img2VidJobResult,
  [JobOperation.AddAudio]: AddAudioJobResult,
  [JobOperation.Transcribe]: TranscribeJobResult,
  [JobOperation.Concatenate]: ConcatenateJobResult,
  [JobOperation.ConcatVideoAudio]: ConcatVideoAudioJobResult,
  [JobOperation.TrilhaSonora]: TrilhaSonoraJobResult,
  [JobOperation.AudioTrilhaSonora]: AudioTrilhaSonoraJobResult,
  [JobOperation.AudioConcatenate]: AudioConcatenateJobResult,
  [JobOperation.Compose]: ComposeJobResult,
} as const satisfies Record<JobOperation, new () => object>;

export type JobResultOf<O extends JobOperation> = InstanceType<(typeof JOB_RESULT_CLASSES)[O]>;
