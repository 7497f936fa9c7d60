import { OpenAiAudioRequest } from './openai-request';

/** What the finished transcribe job left: its text and language, and the files the answer may need. */
export interface FinishedTranscript {
  text: string;
  language: string;
  segmentsSrt?: string;
  segmentsVtt?: string;
  /** words.json's `words`. */
  words?: { word: string; start: number; end: number }[];
}

export interface OpenAiAnswer {
  contentType: string;
  body: string | Record<string, unknown>;
}

/** Which of the job's files an answer in this format is made from. */
export function filesNeeded(request: OpenAiAudioRequest): { srt: boolean; vtt: boolean; words: boolean } {
  const verbose = request.responseFormat === 'verbose_json';
  return { srt: request.responseFormat === 'srt' || verbose, vtt: request.responseFormat === 'vtt', words: verbose };
}

/** The answer OpenAI gives for the request's response_format. */
export function openAiAnswer(request: OpenAiAudioRequest, transcript: FinishedTranscript): OpenAiAnswer {
  switch (request.responseFormat) {
    case 'json':
      return { contentType: 'application/json', body: { text: transcript.text } };
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: `${transcript.text}\n` };
    case 'srt':
      return { contentType: 'application/x-subrip; charset=utf-8', body: transcript.segmentsSrt ?? '' };
    case 'vtt':
      return { contentType: 'text/vtt; charset=utf-8', body: transcript.segmentsVtt ?? 'WEBVTT\n' };
    case 'verbose_json':
      return { contentType: 'application/json', body: verboseJson(request, transcript) };
  }
}

/**
 * OpenAI's verbose_json. Segments come from segments.srt (the worker's own output, one cue per
 * segment); the decoder statistics OpenAI adds per segment are not kept by the worker and are 0.
 * `duration` is where the last segment or word ends.
 */
function verboseJson(request: OpenAiAudioRequest, transcript: FinishedTranscript): Record<string, unknown> {
  const temperature = request.temperature ?? 0;
  const segments = srtCues(transcript.segmentsSrt ?? '').map((cue, id) => ({
    id,
    seek: 0,
    start: cue.start,
    end: cue.end,
    text: ` ${cue.text}`,
    tokens: [] as number[],
    temperature,
    avg_logprob: 0,
    compression_ratio: 0,
    no_speech_prob: 0,
  }));
  const words = transcript.words ?? [];
  const duration = Math.max(0, ...segments.map((segment) => segment.end), ...words.map((word) => word.end));
  const wantWords = request.granularities.includes('word');
  return {
    task: request.task === 'translate' ? 'translate' : 'transcribe',
    language: languageName(request.task === 'translate' ? 'en' : transcript.language),
    duration,
    text: transcript.text,
    segments,
    ...(wantWords ? { words: words.map(({ word, start, end }) => ({ word, start, end })) } : {}),
  };
}

/** OpenAI names languages in English, lower case ("portuguese"), where Whisper gives ISO codes. */
export function languageName(code: string): string {
  try {
    const name = new Intl.DisplayNames(['en'], { type: 'language' }).of(code);
    return name ? name.toLowerCase() : code;
  } catch {
    return code;
  }
}

/** The cues of a segments.srt as the worker writes it: number, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, one text line. */
function srtCues(srt: string): { start: number; end: number; text: string }[] {
  return srt
    .split('\n\n')
    .map((block) => block.split('\n'))
    .filter((lines) => lines.length >= 3 && lines[1].includes(' --> '))
    .map(([, timing, ...text]) => {
      const [start, end] = timing.split(' --> ').map(srtSeconds);
      return { start, end, text: text.join(' ').trim() };
    });
}

function srtSeconds(time: string): number {
  const [hours, minutes, rest] = time.split(':');
  const [seconds, millis] = rest.split(',');
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds) + Number(millis) / 1000;
}
