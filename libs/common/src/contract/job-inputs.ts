import { JSONSchema } from 'class-validator-jsonschema';
import {
  BooleanField,
  EnumField,
  IntegerField,
  NestedArrayField,
  NestedField,
  NumberField,
  TextField,
} from './fields';
import { ValidateIf } from 'class-validator';
import { CAPTION_KINDS, CAPTION_PRESET_NAMES, CaptionKind, CaptionPresetName } from './caption-presets';
import { WHISPER_LANGUAGES } from './languages';
import { JobOperation } from './operations';
import {
  FONT_NAME,
  HEX_COLOR,
  IMAGE_ID,
  MEDIA_URL,
  OUTPUT_VIDEO_FILENAME,
  S3_KEY_PREFIX,
  WHISPER_MODEL_NAME,
} from './patterns';

export const IMG2VID_RESOLUTIONS = ['1920x1080', '1080x1920', '1080x1080', '1280x720'] as const;

export type Img2VidResolution = (typeof IMG2VID_RESOLUTIONS)[number];

export const IMG2VID_FITS = ['cover', 'blur'] as const;

export type Img2VidFit = (typeof IMG2VID_FITS)[number];

/** The most images one img2vid job may carry. */
export const MAX_IMG2VID_IMAGES = 500;

const MAX_URL_LENGTH = 2048;

const MediaUrlField = (description: string, example: string) =>
  TextField({ description, example, minLength: 1, maxLength: MAX_URL_LENGTH, pattern: MEDIA_URL });

const S3KeyPrefixField = (example: string) =>
  TextField({
    description:
      'S3 key prefix the results are uploaded under, inside the configured bucket ' +
      '(conventionally ending in "/").',
    example,
    minLength: 1,
    maxLength: 512,
    pattern: S3_KEY_PREFIX,
  });

const OutputVideoFilenameField = (example: string) =>
  TextField({
    description: 'Name of the video written under `path`: a file name, not a path.',
    example,
    minLength: 1,
    maxLength: 200,
    pattern: OUTPUT_VIDEO_FILENAME,
  });

const MarginField = (description: string, example: number) =>
  IntegerField({ description, example, minimum: 0, maximum: 200, optional: true });

const AlphaField = (colour: string, example: number) =>
  IntegerField({
    description: `Alpha of the ${colour} colour, as libass reads it: 0 opaque, 255 fully transparent.`,
    example,
    minimum: 0,
    maximum: 255,
    optional: true,
  });

@JSONSchema({ additionalProperties: false, description: 'Font of the captions.' })
export class CaptionFont {
  @TextField({
    description: 'Font family; must be installed on the worker.',
    example: 'DejaVu Sans',
    optional: true,
    minLength: 1,
    maxLength: 100,
    pattern: FONT_NAME,
  })
  name?: string;

  @IntegerField({
    description: 'Font size in script pixels.',
    example: 24,
    optional: true,
    minimum: 8,
    maximum: 100,
  })
  size?: number;

  @BooleanField({ description: 'Bold text.', example: true, optional: true })
  bold?: boolean;

  @BooleanField({ description: 'Italic text.', example: false, optional: true })
  italic?: boolean;

  @BooleanField({ description: 'Underlined text.', example: false, optional: true })
  underline?: boolean;
}

@JSONSchema({ additionalProperties: false, description: 'Colours of the captions.' })
export class CaptionColors {
  @TextField({
    description: 'Text colour.',
    example: '#FFFFFF',
    optional: true,
    pattern: HEX_COLOR,
  })
  primary?: string;

  @TextField({
    description: 'Outline colour.',
    example: '#000000',
    optional: true,
    pattern: HEX_COLOR,
  })
  outline?: string;

  @TextField({
    description: 'Shadow or box colour.',
    example: '#000000',
    optional: true,
    pattern: HEX_COLOR,
  })
  background?: string;

  @AlphaField('text', 0)
  primaryAlpha?: number;

  @AlphaField('outline', 0)
  outlineAlpha?: number;

  @AlphaField('shadow or box', 128)
  backgroundAlpha?: number;

  @TextField({
    description: 'Colour of the word being spoken (highlight and pop), and of what karaoke has swept.',
    example: '#FFD400',
    optional: true,
    pattern: HEX_COLOR,
  })
  highlight?: string;

  @TextField({
    description: 'pop: colour of the words already spoken (the words still to come are in `primary`).',
    example: '#FFFFFF',
    optional: true,
    pattern: HEX_COLOR,
  })
  spoken?: string;
}

@JSONSchema({ additionalProperties: false, description: 'Outline, shadow or box of the captions.' })
export class CaptionBorder {
  @IntegerField({
    description: 'ASS BorderStyle: 1 outline and drop shadow, 3 opaque box; 0 and 4 as libass reads them.',
    example: 1,
    optional: true,
    oneOf: [0, 1, 3, 4],
  })
  style?: number;

  @NumberField({
    description: 'Outline width in script pixels.',
    example: 2,
    optional: true,
    minimum: 0,
    maximum: 4,
  })
  width?: number;

  @NumberField({
    description: 'Shadow depth in script pixels.',
    example: 1,
    optional: true,
    minimum: 0,
    maximum: 4,
  })
  shadow?: number;
}

@JSONSchema({ additionalProperties: false, description: 'Placement of the captions.' })
export class CaptionPosition {
  @IntegerField({
    description: 'Anchor on the numeric keypad: 1 bottom left, 2 bottom centre, … 9 top right.',
    example: 2,
    optional: true,
    minimum: 1,
    maximum: 9,
  })
  alignment?: number;

  @MarginField('Distance from the top or bottom edge, in script pixels.', 25)
  marginVertical?: number;

  @MarginField('Distance from the left edge, in script pixels.', 10)
  marginLeft?: number;

  @MarginField('Distance from the right edge, in script pixels.', 10)
  marginRight?: number;

  @MarginField('Distance from the left and the right edges, in script pixels (sets both).', 16)
  marginHorizontal?: number;
}

@JSONSchema({
  additionalProperties: false,
  description: 'A box behind each line of text; present turns it on.',
})
export class CaptionBox {
  @BooleanField({ description: "Draw the box (false turns off a preset's box).", example: true, optional: true })
  enabled?: boolean;

  @TextField({ description: 'Box colour.', example: '#000000', optional: true, pattern: HEX_COLOR })
  color?: string;

  @IntegerField({
    description: 'Box alpha: 0 opaque, 255 fully transparent.',
    example: 96,
    optional: true,
    minimum: 0,
    maximum: 255,
  })
  alpha?: number;

  @IntegerField({
    description: 'Space between the text and the edge of the box, in script pixels.',
    example: 6,
    optional: true,
    minimum: 0,
    maximum: 40,
  })
  padding?: number;
}

@JSONSchema({ additionalProperties: false, description: 'The pop kind.' })
export class CaptionPop {
  @NumberField({
    description: 'How much larger the word being spoken is drawn.',
    example: 1.25,
    optional: true,
    minimum: 1,
    maximum: 2,
  })
  scale?: number;
}

@JSONSchema({
  additionalProperties: false,
  description: 'Caption style overrides; whatever is left out keeps its default.',
})
export class CaptionStyle {
  @EnumField({
    description:
      'A preset (see GET /video/caption/styles) whose fields apply first; every field given here overrides its own.',
    example: 'shorts',
    optional: true,
    values: CAPTION_PRESET_NAMES,
  })
  preset?: CaptionPresetName;

  @EnumField({
    description:
      'classic: whole lines; karaoke: a sweep along each word as it is spoken; highlight: the spoken word in ' +
      '`colors.highlight`; word_by_word: one word at a time; pop: spoken, active (scaled by `pop.scale`) and ' +
      'upcoming words each in its colour.',
    example: 'highlight',
    optional: true,
    values: CAPTION_KINDS,
  })
  kind?: CaptionKind;

  @IntegerField({
    description: 'Most words on one line.',
    example: 4,
    optional: true,
    minimum: 1,
    maximum: 20,
  })
  max_words_per_line?: number;

  @IntegerField({
    description: 'Most characters on one line (a longer word gets a line of its own; words are never split).',
    example: 32,
    optional: true,
    minimum: 8,
    maximum: 80,
  })
  max_chars_per_line?: number;

  @IntegerField({ description: 'Lines on screen at once.', example: 2, optional: true, minimum: 1, maximum: 2 })
  max_lines?: number;

  @BooleanField({ description: 'Upper-case the text.', example: false, optional: true })
  all_caps?: boolean;

  @NestedField({
    description: 'A box behind each line.',
    example: { color: '#000000', alpha: 96, padding: 6 },
    optional: true,
    type: () => CaptionBox,
  })
  box?: CaptionBox;

  @NestedField({
    description: 'The pop kind.',
    example: { scale: 1.25 },
    optional: true,
    type: () => CaptionPop,
  })
  pop?: CaptionPop;

  @NestedField({
    description: 'Font.',
    example: { name: 'DejaVu Sans', size: 24, bold: true },
    optional: true,
    type: () => CaptionFont,
  })
  font?: CaptionFont;

  @NestedField({
    description: 'Colours and their alpha.',
    example: { primary: '#FFFFFF', outline: '#000000', backgroundAlpha: 128 },
    optional: true,
    type: () => CaptionColors,
  })
  colors?: CaptionColors;

  @NestedField({
    description: 'Outline, shadow or box.',
    example: { style: 1, width: 2, shadow: 1 },
    optional: true,
    type: () => CaptionBorder,
  })
  border?: CaptionBorder;

  @NestedField({
    description: 'Placement.',
    example: { alignment: 2, marginVertical: 25 },
    optional: true,
    type: () => CaptionPosition,
  })
  position?: CaptionPosition;
}

@JSONSchema({ additionalProperties: false, description: 'Captions transcribed from the video itself.' })
export class CaptionAutoCaptions {
  @TextField({
    description: 'faster-whisper model name; the worker chooses one when left out.',
    example: 'base',
    optional: true,
    pattern: WHISPER_MODEL_NAME,
  })
  model?: string;

  @EnumField({
    description: 'Code of the spoken language as Whisper knows it (ISO 639-1, e.g. pt, en, es); detected when left out.',
    example: 'pt',
    optional: true,
    values: WHISPER_LANGUAGES,
  })
  language?: string;
}

const hasSubtitleSource = (input: { url_words?: unknown; auto_captions?: unknown }) =>
  input.url_words !== undefined || input.auto_captions !== undefined;

// url_srt may be left out only for url_words or auto_captions (draft-07 if/else, unknown to the typings).
@JSONSchema((schema) => ({
  ...schema,
  additionalProperties: false,
  description: 'Burn subtitles (SRT or ASS) into a video and upload the result.',
  ...{ if: { anyOf: [{ required: ['url_words'] }, { required: ['auto_captions'] }] }, else: { required: ['url_srt'] } },
}))
export class CaptionJobInput {
  @MediaUrlField('Video to caption.', 'https://example.com/video.mp4')
  url_video: string;

  @MediaUrlField(
    'Subtitles: SRT, ASS, or the words.json of /transcribe. May be left out for url_words or auto_captions.',
    'https://example.com/subtitles.srt',
  )
  @ValidateIf((input: CaptionJobInput, value: unknown) => value !== undefined || !hasSubtitleSource(input))
  url_srt?: string;

  @TextField({
    description: 'words.json of /transcribe: captions with the words timed as they were spoken (wins over url_srt).',
    example: 'https://example.com/words.json',
    optional: true,
    minLength: 1,
    maxLength: MAX_URL_LENGTH,
    pattern: MEDIA_URL,
  })
  url_words?: string;

  @NestedField({
    description:
      'Without url_srt and url_words: transcribe the video on the worker, burn the captions and upload ' +
      'segments.srt, words.json and karaoke.ass beside the video.',
    example: { language: 'pt' },
    optional: true,
    type: () => CaptionAutoCaptions,
  })
  auto_captions?: CaptionAutoCaptions;

  @S3KeyPrefixField('Project Name/Video Title/videos/')
  path: string;

  @OutputVideoFilenameField('video_legendado.mp4')
  output_filename: string;

  @NestedField({
    description: 'Style of the captions (the caption_style route); the defaults when left out.',
    example: { font: { size: 28 }, position: { alignment: 2, marginVertical: 40 } },
    optional: true,
    type: () => CaptionStyle,
  })
  style?: CaptionStyle;
}

@JSONSchema({ additionalProperties: false, description: 'One image and the clip made from it.' })
export class Img2VidImage {
  @TextField({
    description: 'Caller-chosen identifier, echoed back with the clip made from this image.',
    example: 'img-1',
    minLength: 1,
    maxLength: 128,
    pattern: IMAGE_ID,
  })
  id: string;

  @MediaUrlField('Image (JPEG or PNG).', 'https://example.com/photo1.jpg')
  image_url: string;

  @NumberField({
    description: 'Clip duration in seconds.',
    example: 6.48,
    positive: true,
    maximum: 600,
  })
  duracao: number;

  @EnumField({
    description: 'Camera movement over the image; a zoom-in when left out.',
    example: 'zoomin',
    optional: true,
    values: ['zoomin', 'zoomout', 'panright', 'panleft'] as const,
  })
  zoom_type?: 'zoomin' | 'zoomout' | 'panright' | 'panleft';
}

@JSONSchema({
  additionalProperties: false,
  description: 'Turn images into Ken Burns clips, one video per image.',
})
export class Img2VidJobInput {
  @NestedArrayField({
    description: 'Images, in the order of the clips (video_1.mp4, video_2.mp4, …).',
    example: [{ id: 'img-1', image_url: 'https://example.com/photo1.jpg', duracao: 6.48 }],
    minItems: 1,
    maxItems: MAX_IMG2VID_IMAGES,
    type: () => Img2VidImage,
  })
  images: Img2VidImage[];

  @S3KeyPrefixField('Project Name/Video Title/videos/temp/')
  path: string;

  // A large batch is split into parts that each name their clips from where they start in the whole batch.
  @IntegerField({
    description: 'Number of the images before these in a batch split into parts: clips are named video_{start_index+i+1}.mp4.',
    example: 0,
    minimum: 0,
    maximum: MAX_IMG2VID_IMAGES - 1,
    optional: true,
  })
  start_index?: number;

  @EnumField({
    description: 'Size of the clips, width x height (1920x1080 when left out).',
    example: '1080x1920',
    optional: true,
    values: IMG2VID_RESOLUTIONS,
  })
  resolution?: Img2VidResolution;

  @EnumField({
    description:
      'cover (default): crop the image to fill the frame; blur: the whole image over a blurred, darkened copy ' +
      'of itself filling the frame.',
    example: 'blur',
    optional: true,
    values: IMG2VID_FITS,
  })
  fit?: Img2VidFit;
}

@JSONSchema({
  additionalProperties: false,
  description: "Put an audio track on a video; the result ends with the shorter of the two.",
})
export class AddAudioJobInput {
  @MediaUrlField('Video whose audio is replaced.', 'https://example.com/video.mp4')
  url_video: string;

  @MediaUrlField('Audio track (MP3, AAC or WAV).', 'https://example.com/audio.mp3')
  url_audio: string;

  @S3KeyPrefixField('Project Name/Video Title/videos/')
  path: string;

  @OutputVideoFilenameField('video_com_audio.mp4')
  output_filename: string;
}

export const TRANSCRIBE_TASKS = ['transcribe', 'translate'] as const;
export type TranscribeTask = (typeof TRANSCRIBE_TASKS)[number];

@JSONSchema({
  additionalProperties: false,
  description: 'Transcribe speech with faster-whisper into subtitle and word-timing files.',
})
export class TranscribeJobInput {
  @MediaUrlField('Audio to transcribe (MP3, WAV, AAC or M4A).', 'https://example.com/audio.mp3')
  audio_url: string;

  @S3KeyPrefixField('transcriptions/job-123/')
  path: string;

  @TextField({
    description: 'faster-whisper model name; the worker chooses one when left out.',
    example: 'large-v3',
    optional: true,
    pattern: WHISPER_MODEL_NAME,
  })
  model?: string;

  @EnumField({
    description: 'Code of the spoken language as Whisper knows it (ISO 639-1, e.g. pt, en, es); detected when left out.',
    example: 'pt',
    optional: true,
    values: WHISPER_LANGUAGES,
  })
  language?: string;

  @BooleanField({
    description: 'Skip silence with voice activity detection (on when left out).',
    example: true,
    optional: true,
  })
  enable_vad?: boolean;

  @IntegerField({
    description: 'Beam size for decoding (5 when left out).',
    example: 5,
    optional: true,
    minimum: 1,
    maximum: 10,
  })
  beam_size?: number;

  @NumberField({
    description: 'Sampling temperature (0 when left out).',
    example: 0,
    optional: true,
    minimum: 0,
    maximum: 1,
  })
  temperature?: number;

  @TextField({
    description: "Whisper's initial prompt: words, names and spelling the transcript should follow.",
    example: 'Transcrição de um podcast sobre nutrição, com o Dr. Araújo.',
    optional: true,
    maxLength: 2000,
  })
  prompt?: string;

  @EnumField({
    description: 'transcribe (in the spoken language, when left out) or translate (into English).',
    example: 'transcribe',
    optional: true,
    values: TRANSCRIBE_TASKS,
  })
  task?: TranscribeTask;
}

/** The input class of each operation. */
export const JOB_INPUT_CLASSES = {
  [JobOperation.Caption]: CaptionJobInput,
  [JobOperation.Img2Vid]: Img2VidJobInput,
  [JobOperation.AddAudio]: AddAudioJobInput,
  [JobOperation.Transcribe]: TranscribeJobInput,
} as const satisfies Record<JobOperation, new () => object>;

export type JobInputOf<O extends JobOperation> = InstanceType<(typeof JOB_INPUT_CLASSES)[O]>;
export type JobInput = JobInputOf<JobOperation>;
