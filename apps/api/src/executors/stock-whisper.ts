import {
  TranscriptSegment,
  TranscriptWord,
  countCues,
  countWords,
  karaokeAss,
  karaokeVtt,
  lyricsLrc,
  segmentsSrt,
  segmentsVtt,
  transcriptText,
  wordsJson,
} from '@app/common';

/*
 * RunPod's stock worker-faster_whisper (runpod-workers/worker-faster_whisper), as documented:
 * input `{audio, model, transcription, translate, language, temperature, best_of, beam_size,
 * word_timestamps, enable_vad, ...}`, output `{segments: [{id, seek, start, end, text, ...}],
 * detected_language, transcription, translation, device, model, word_timestamps: [{word, start,
 * end}]}`. Its segments carry no words, so each word is put back in the segment it was said in.
 */

/** The replaced service's decoding defaults, which the stock worker takes as input fields. */
const STOCK_DEFAULT_MODEL = 'base';

export function stockWhisperInput(input: Record<string, unknown>): Record<string, unknown> {
  return {
    audio: input.audio_url,
    model: input.model ?? STOCK_DEFAULT_MODEL,
    transcription: 'plain_text',
    translate: input.task === 'translate',
    language: input.language ?? null,
    initial_prompt: input.prompt ?? null,
    temperature: input.temperature ?? 0,
    best_of: 5,
    beam_size: input.beam_size ?? 5,
    temperature_increment_on_fallback: 0.2,
    compression_ratio_threshold: 2.4,
    logprob_threshold: -1.0,
    no_speech_threshold: 0.6,
    condition_on_previous_text: true,
    enable_vad: input.enable_vad ?? true,
    word_timestamps: true,
  };
}

export interface StockTranscript {
  segments: TranscriptSegment[];
  language: string;
  model: string;
  device: string;
}

/** Reads the stock worker's output; throws with what is wrong when it is not that shape. */
export function readStockOutput(output: unknown): StockTranscript {
  if (typeof output !== 'object' || output === null) throw new Error('the whisper worker returned no output object');
  const body = output as Record<string, unknown>;
  if (!Array.isArray(body.segments)) throw new Error('the whisper worker returned no segments');
  const segments: TranscriptSegment[] = body.segments.map((segment: Record<string, unknown>, index: number) => {
    if (typeof segment.start !== 'number' || typeof segment.end !== 'number' || typeof segment.text !== 'string') {
      throw new Error(`the whisper worker's segments[${index}] lacks start, end or text`);
    }
    return { start: segment.start, end: segment.end, text: segment.text, words: [] };
  });
  const words = Array.isArray(body.word_timestamps) ? (body.word_timestamps as TranscriptWord[]) : [];
  let current = 0;
  for (const word of words) {
    if (typeof word.word !== 'string' || typeof word.start !== 'number' || typeof word.end !== 'number') continue;
    while (current + 1 < segments.length && segments[current + 1].start <= word.start) current++;
    segments[current]?.words?.push({ word: word.word, start: word.start, end: word.end });
  }
  return {
    segments,
    language: typeof body.detected_language === 'string' ? body.detected_language : 'unknown',
    model: typeof body.model === 'string' ? body.model : STOCK_DEFAULT_MODEL,
    device: typeof body.device === 'string' ? body.device : 'unknown',
  };
}

const VTT_TYPE = 'text/vtt; charset=utf-8';

export interface TranscriptUpload {
  filename: string;
  content: Buffer;
  contentType: string;
}

/** The files the project's worker uploads for a transcript, made from the same rules. */
export function transcriptUploads(transcript: StockTranscript): TranscriptUpload[] {
  const metadata = { language: transcript.language, model: transcript.model, device: transcript.device };
  const uploads: TranscriptUpload[] = [
    { filename: 'segments.srt', content: segmentsSrt(transcript.segments), contentType: 'application/x-subrip; charset=utf-8' },
    { filename: 'segments.vtt', content: segmentsVtt(transcript.segments), contentType: VTT_TYPE },
    { filename: 'words.json', content: wordsJson(transcript.segments, metadata), contentType: 'application/json' },
  ];
  if (countWords(transcript.segments) > 0) {
    uploads.push(
      { filename: 'karaoke.ass', content: karaokeAss(transcript.segments), contentType: 'text/x-ssa; charset=utf-8' },
      { filename: 'karaoke.vtt', content: karaokeVtt(transcript.segments), contentType: VTT_TYPE },
      { filename: 'lyrics.lrc', content: lyricsLrc(transcript.segments), contentType: 'application/x-lrc; charset=utf-8' },
    );
  }
  return uploads;
}

/** The transcribe result, as the project's worker returns it, from the uploaded files' URLs. */
export function transcribeResult(transcript: StockTranscript, urls: Record<string, string>): Record<string, unknown> {
  const wordCount = countWords(transcript.segments);
  const files: Record<string, unknown> = {
    segments: { srt: urls['segments.srt'], vtt: urls['segments.vtt'], json: urls['words.json'] },
  };
  if (wordCount > 0) {
    files.words = {
      ass_karaoke: urls['karaoke.ass'],
      vtt_karaoke: urls['karaoke.vtt'],
      lrc: urls['lyrics.lrc'],
      json: urls['words.json'],
    };
  }
  return {
    language: transcript.language,
    transcription: transcriptText(transcript.segments),
    files,
    segments: countCues(transcript.segments),
    words: wordCount,
    model: transcript.model,
    device: transcript.device,
  };
}
