import { applyDecorators } from '@nestjs/common';
import { ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsObject,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import {
  BooleanField,
  EnumField,
  IntegerField,
  NestedArrayField,
  NestedField,
  NumberField,
  PATTERN_RULE_KEYWORD,
  TextField,
} from './fields';
import { CAPTION_KINDS, CAPTION_PRESET_NAMES, CaptionKind, CaptionPresetName } from './caption-presets';
import { WHISPER_LANGUAGES } from './languages';
import { JobOperation } from './operations';
import {
  FONT_NAME,
  HEX_COLOR,
  IMAGE_ID,
  MEDIA_URL,
  OUTPUT_AUDIO_FILENAME,
  OUTPUT_VIDEO_FILENAME,
  S3_KEY_PREFIX,
  VIDEO_SIZE,
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

/** The moves `zoom_types` spreads over the images; zoompanright/zoompanleft are the pans. */
export const ZOOM_TYPE_CHOICES = ['zoomin', 'zoomout', 'zoompanright', 'zoompanleft', 'panright', 'panleft'] as const;

export type ZoomTypeChoice = (typeof ZOOM_TYPE_CHOICES)[number];

const ZoomTypesField = () => {
  const description =
    'Moves spread over the images without a zoom_type of their own, in turn by position in the whole batch ' +
    '(repeats weight a move; the same request always gets the same moves, split parts included).';
  const example: ZoomTypeChoice[] = ['zoomin', 'zoomout', 'zoompanright'];
  return applyDecorators(
    ApiProperty({ description, example, enum: [...ZOOM_TYPE_CHOICES], isArray: true, minItems: 1, maxItems: 100, required: false }),
    JSONSchema({ description, examples: [example], items: { type: 'string', enum: [...ZOOM_TYPE_CHOICES] } }),
    ValidateIf((_object: object, value: unknown) => value !== undefined),
    IsArray(),
    ArrayMinSize(1),
    ArrayMaxSize(100),
    IsIn([...ZOOM_TYPE_CHOICES], { each: true }),
  );
};

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

  @ZoomTypesField()
  zoom_types?: ZoomTypeChoice[];
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


/** The most clips one concatenate or concat_video_audio job may join. */
export const MAX_JOINED_CLIPS = 100;

export const VIDEO_TRANSITIONS = ['none', 'fade', 'crossfade'] as const;

export type VideoTransition = (typeof VIDEO_TRANSITIONS)[number];

const IdRoteiroField = () =>
  IntegerField({
    description: "The client's own script id, echoed back in the result.",
    example: 42,
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    optional: true,
  });

@JSONSchema({ additionalProperties: false, description: 'One clip to join.' })
export class ConcatenateVideoItem {
  @MediaUrlField('Clip (MP4, MOV, MKV…).', 'https://example.com/video_1.mp4')
  video_url: string;
}

@JSONSchema({
  additionalProperties: false,
  description:
    'Join clips in order into one video: stream copy when every clip shares its parameters, else one re-encode to common ones.',
})
export class ConcatenateJobInput {
  @NestedArrayField({
    description: 'The clips, in order.',
    example: [{ video_url: 'https://example.com/video_1.mp4' }, { video_url: 'https://example.com/video_2.mp4' }],
    minItems: 2,
    maxItems: MAX_JOINED_CLIPS,
    type: () => ConcatenateVideoItem,
  })
  video_urls: ConcatenateVideoItem[];

  @S3KeyPrefixField('Project Name/Video Title/videos/')
  path: string;

  @OutputVideoFilenameField('video_concatenado.mp4')
  output_filename: string;

  @EnumField({
    description: 'Between clips: none (a cut), fade (through black, no overlap) or crossfade (overlapping).',
    example: 'none',
    optional: true,
    values: VIDEO_TRANSITIONS,
  })
  transition?: VideoTransition;

  @NumberField({
    description: 'Length of each fade or crossfade in seconds (0.5 when left out), rounded to whole frames.',
    example: 0.5,
    optional: true,
    positive: true,
    maximum: 5,
  })
  transition_duration?: number;

  @TextField({
    description: "Frame size of a re-encoded result; the first clip's when left out.",
    example: '1920x1080',
    optional: true,
    pattern: VIDEO_SIZE,
  })
  resolution?: string;

  @IdRoteiroField()
  id_roteiro?: number;
}

/** The most clips one concat_video_audio job may cycle. */
export const MAX_BED_CLIPS = 50;

// The replaced service took this list as bare URL strings; its clients' bodies keep working.
const MediaUrlListField = (description: string, example: string[], maxItems: number) =>
  applyDecorators(
    ApiProperty({ description, example, type: [String], minItems: 1, maxItems }),
    JSONSchema({
      description,
      examples: [example],
      items: {
        type: 'string',
        minLength: 1,
        maxLength: MAX_URL_LENGTH,
        pattern: MEDIA_URL.regex.source,
        [PATTERN_RULE_KEYWORD]: MEDIA_URL.rule,
      },
    }),
    IsArray(),
    ArrayMinSize(1),
    ArrayMaxSize(maxItems),
    IsString({ each: true }),
    MinLength(1, { each: true }),
    MaxLength(MAX_URL_LENGTH, { each: true }),
    Matches(MEDIA_URL.regex, { each: true, message: `each item of $property ${MEDIA_URL.rule}` }),
  );

@JSONSchema({
  additionalProperties: false,
  description:
    'Lay clips, cycled in order, under a narration: the result lasts exactly as long as the narration, which is its only audio.',
})
export class ConcatVideoAudioJobInput {
  @MediaUrlListField(
    'The clips, cycled in order until the narration is covered.',
    ['https://example.com/video_1.mp4', 'https://example.com/video_2.mp4'],
    MAX_BED_CLIPS,
  )
  video_urls: string[];

  @MediaUrlField('The narration (MP3, AAC, WAV…).', 'https://example.com/narracao.mp3')
  audio_url: string;

  @S3KeyPrefixField('Project Name/Video Title/videos/')
  path: string;

  @OutputVideoFilenameField('video_com_narracao.mp4')
  output_filename: string;

  @BooleanField({
    description: "Scale and pad every clip to 1920x1080 (true when left out); false keeps the first clip's size.",
    example: true,
    optional: true,
  })
  normalize?: boolean;

  @IdRoteiroField()
  id_roteiro?: number;
}

const DuckingDbField = () =>
  NumberField({
    description: 'How much further the music goes down while the narration speaks, in dB (6 when left out; 0 turns ducking off).',
    example: 6,
    optional: true,
    minimum: 0,
    maximum: 40,
  });

@JSONSchema({
  additionalProperties: false,
  description:
    "Music under a video's narration: looped with crossfaded seams, faded in and out, below the narration and ducked while it speaks; the video stream is copied.",
})
export class TrilhaSonoraJobInput {
  @MediaUrlField('Video whose audio is the narration.', 'https://example.com/video_narrado.mp4')
  url_video: string;

  @MediaUrlField('The music.', 'https://example.com/trilha.mp3')
  trilha_sonora: string;

  @S3KeyPrefixField('Project Name/Video Title/videos/')
  path: string;

  @OutputVideoFilenameField('video_com_trilha.mp4')
  output_filename: string;

  @NumberField({
    description: "How far below the narration's loudness the music sits, in LU (EBU R128); 20 when left out.",
    example: 20,
    optional: true,
    minimum: 0,
    maximum: 40,
  })
  volume_reduction_db?: number;

  @DuckingDbField()
  ducking_db?: number;

  @IdRoteiroField()
  id_roteiro?: number;
}

@JSONSchema({
  additionalProperties: false,
  description: 'Music under a narration (audio only), as the video variant does it.',
})
export class AudioTrilhaSonoraJobInput {
  @MediaUrlField('The narration.', 'https://example.com/narracao.mp3')
  audio_url: string;

  @MediaUrlField('The music.', 'https://example.com/trilha.mp3')
  trilha_sonora: string;

  @S3KeyPrefixField('Project Name/Video Title/audios/')
  path: string;

  @TextField({
    description: 'Name of the audio written under `path` (audio_with_trilha.mp3 when left out); its extension chooses the format.',
    example: 'narracao_com_trilha.mp3',
    optional: true,
    minLength: 1,
    maxLength: 200,
    pattern: OUTPUT_AUDIO_FILENAME,
  })
  output_filename?: string;

  @NumberField({
    description: "How far below the narration's loudness the music sits, in LU (EBU R128); 30 when left out.",
    example: 30,
    optional: true,
    minimum: 0,
    maximum: 50,
  })
  db_offset?: number;

  @DuckingDbField()
  ducking_db?: number;

  @IdRoteiroField()
  id_roteiro?: number;
}

@JSONSchema({ additionalProperties: false, description: 'One audio file to join.' })
export class AudioConcatenateItem {
  @MediaUrlField('Audio (MP3, AAC, WAV…).', 'https://example.com/parte_1.mp3')
  audio_url: string;
}

@JSONSchema({
  additionalProperties: false,
  description: 'Join audio files in order into one, in the format its extension names; mixed codecs and rates normalised.',
})
export class AudioConcatenateJobInput {
  @NestedArrayField({
    description: 'The audio files, in order.',
    example: [{ audio_url: 'https://example.com/parte_1.mp3' }, { audio_url: 'https://example.com/parte_2.wav' }],
    minItems: 2,
    maxItems: MAX_JOINED_CLIPS,
    type: () => AudioConcatenateItem,
  })
  audio_urls: AudioConcatenateItem[];

  @S3KeyPrefixField('Project Name/Video Title/audios/')
  path: string;

  @TextField({
    description: 'Name of the audio written under `path` (audio_concatenated.mp3 when left out); its extension chooses the format.',
    example: 'narracao_completa.mp3',
    optional: true,
    minLength: 1,
    maxLength: 200,
    pattern: OUTPUT_AUDIO_FILENAME,
  })
  output_filename?: string;

  @NumberField({
    description: 'Silence between two files, in seconds (none when left out).',
    example: 0.5,
    optional: true,
    minimum: 0,
    maximum: 10,
  })
  gap_s?: number;

  @IdRoteiroField()
  id_roteiro?: number;
}

/** The most images one compose job may carry. */
export const MAX_COMPOSE_IMAGES = 200;

@JSONSchema({ additionalProperties: false, description: 'Music under the narration of a composed video.' })
export class ComposeMusic {
  @MediaUrlField('The music (MP3, AAC, WAV…): looped with crossfaded seams, faded in and out.', 'https://example.com/trilha.mp3')
  url: string;

  @NumberField({
    description: "How far below the narration's loudness the music sits, in LU (EBU R128); 20 when left out.",
    example: 20,
    optional: true,
    minimum: 0,
    maximum: 40,
  })
  volume_reduction_db?: number;

  @DuckingDbField()
  ducking_db?: number;
}

const hasComposeSubtitles = (input: { url_words?: unknown; url_srt?: unknown }) =>
  input.url_words !== undefined || input.url_srt !== undefined;

const AutoCaptionsField = () => {
  const description =
    'Transcribe the narration on the worker and burn its words: true (model and language chosen by the worker) ' +
    'or {model?, language?}. Needed unless url_srt or url_words is given.';
  const example = { language: 'pt' };
  return applyDecorators(
    ApiProperty({
      description,
      example,
      required: false,
      oneOf: [{ type: 'boolean', enum: [true] }, { $ref: getSchemaPath(CaptionAutoCaptions) }],
    }),
    // `true` or the options object; the generated $ref alone would refuse `true`.
    JSONSchema(() => ({
      description,
      examples: [true, example],
      anyOf: [{ type: 'boolean', enum: [true] }, { $ref: '#/definitions/CaptionAutoCaptions' }],
    })),
    ValidateIf((input: { url_words?: unknown; url_srt?: unknown }, value: unknown) =>
      value === undefined ? !hasComposeSubtitles(input) : value !== true,
    ),
    IsObject({ message: '$property must be true or an object {model?, language?}' }),
    ValidateNested(),
    Type(() => CaptionAutoCaptions),
  );
};

// One source of words is required: auto, url_words or url_srt (draft-07 anyOf, unknown to the typings).
@JSONSchema((schema) => ({
  ...schema,
  additionalProperties: false,
  description: 'Captions burnt into the composed video, in the same encode as the pictures.',
  ...{ anyOf: [{ required: ['auto'] }, { required: ['url_words'] }, { required: ['url_srt'] }] },
}))
export class ComposeCaptions {
  @AutoCaptionsField()
  auto?: true | CaptionAutoCaptions;

  @TextField({
    description: 'words.json of /transcribe: the words timed as they were spoken (wins over url_srt and auto).',
    example: 'https://example.com/words.json',
    optional: true,
    minLength: 1,
    maxLength: MAX_URL_LENGTH,
    pattern: MEDIA_URL,
  })
  url_words?: string;

  @TextField({
    description: 'Subtitles (SRT, ASS or a words.json), laid out in `style` (wins over auto).',
    example: 'https://example.com/legendas.srt',
    optional: true,
    minLength: 1,
    maxLength: MAX_URL_LENGTH,
    pattern: MEDIA_URL,
  })
  url_srt?: string;

  @NestedField({
    description: 'Style of the captions, as /video/caption takes it (a preset and overrides); the default look when left out.',
    example: { preset: 'shorts' },
    optional: true,
    type: () => CaptionStyle,
  })
  style?: CaptionStyle;
}

@JSONSchema({
  additionalProperties: false,
  description:
    'A finished video in one job: Ken Burns clips of the images, the narration (with music ducked under it) as ' +
    'the audio and captions burnt in, encoded once. It lasts exactly as long as the narration, which is never cut: ' +
    'the last image is held longer when the images are shorter, the video cut at the narration\'s end when longer.',
})
export class ComposeJobInput {
  @NestedArrayField({
    description: 'The images, in order, each on screen for its `duracao` (fitted to the narration at the end).',
    example: [
      { id: 'img-1', image_url: 'https://example.com/photo1.jpg', duracao: 5 },
      { id: 'img-2', image_url: 'https://example.com/photo2.jpg', duracao: 5, zoom_type: 'panright' },
    ],
    minItems: 1,
    maxItems: MAX_COMPOSE_IMAGES,
    type: () => Img2VidImage,
  })
  images: Img2VidImage[];

  @MediaUrlField('The narration (MP3, AAC, WAV…): the video lasts exactly as long as it.', 'https://example.com/narracao.mp3')
  narration_url: string;

  @NestedField({
    description: 'Music under the narration, as /video/trilhasonora lays it.',
    example: { url: 'https://example.com/trilha.mp3', volume_reduction_db: 20, ducking_db: 6 },
    optional: true,
    type: () => ComposeMusic,
  })
  music?: ComposeMusic;

  @NestedField({
    description: 'Captions: auto (the narration transcribed), url_words or url_srt, with a style.',
    example: { auto: true, style: { preset: 'shorts' } },
    optional: true,
    type: () => ComposeCaptions,
  })
  captions?: ComposeCaptions;

  @EnumField({
    description: 'Between images: none (a cut), fade (through black, no overlap) or crossfade (overlapping).',
    example: 'crossfade',
    optional: true,
    values: VIDEO_TRANSITIONS,
  })
  transition?: VideoTransition;

  @NumberField({
    description: 'Length of each fade or crossfade in seconds (0.5 when left out), rounded to whole frames.',
    example: 0.5,
    optional: true,
    positive: true,
    maximum: 5,
  })
  transition_duration?: number;

  @EnumField({
    description: 'Size of the video, width x height (1920x1080 when left out).',
    example: '1080x1920',
    optional: true,
    values: IMG2VID_RESOLUTIONS,
  })
  resolution?: Img2VidResolution;

  @EnumField({
    description: 'cover (default): crop each image to fill the frame; blur: the whole image over a blurred copy of itself.',
    example: 'cover',
    optional: true,
    values: IMG2VID_FITS,
  })
  fit?: Img2VidFit;

  @ZoomTypesField()
  zoom_types?: ZoomTypeChoice[];

  @S3KeyPrefixField('Project Name/Video Title/videos/')
  path: string;

  @OutputVideoFilenameField('video_final.mp4')
  output_filename: string;

  @BooleanField({
    description:
      'Also upload what the steps would have made (false when left out): the silent video, the mixed audio (with ' +
      'music) and the transcript files (with captions.auto), under `path`.',
    example: false,
    optional: true,
  })
  return_intermediates?: boolean;

  @IdRoteiroField()
  id_roteiro?: number;
}

/** The input class of each operation. */
export const JOB_INPUT_CLASSES = {
  [JobOperation.Caption]: CaptionJobInput,
  [JobOperation.Img2Vid]: Img2VidJobInput,
  [JobOperation.AddAudio]: AddAudioJobInput,
  [JobOperation.Transcribe]: TranscribeJobInput,
  [JobOperation.Concatenate]: ConcatenateJobInput,
  [JobOperation.ConcatVideoAudio]: ConcatVideoAudioJobInput,
  [JobOperation.TrilhaSonora]: TrilhaSonoraJobInput,
  [JobOperation.AudioTrilhaSonora]: AudioTrilhaSonoraJobInput,
  [JobOperation.AudioConcatenate]: AudioConcatenateJobInput,
  [JobOperation.Compose]: ComposeJobInput,
} as const satisfies Record<JobOperation, new () => object>;

export type JobInputOf<O extends JobOperation> = InstanceType<(typeof JOB_INPUT_CLASSES)[O]>;
export type JobInput = JobInputOf<JobOperation>;
