/*
 * segments.srt, karaoke.ass, words.json, segments.vtt, karaoke.vtt and lyrics.lrc built from a
 * transcript, byte for byte as the Python worker writes them (worker-python/api_gpu_worker/
 * subtitles.py). The shared cases under libs/common/contract/fixtures/transcripts/ hold both to the
 * same bytes, so every rule here is written the way the Python one is: integer milliseconds from floor(s * 1000 + 0.5),
 * centiseconds from floor((ms + 5) / 10), ASCII whitespace only.
 */

export interface TranscriptWord {
  word: string;
  start: number;
  end: number;
}

export interface TranscriptSegment {
  start: number;
  end: number;
  text: string;
  words?: TranscriptWord[];
}

export interface TranscriptMetadata {
  language: string;
  model: string;
  device: string;
}

export const KARAOKE_MAX_WORDS = 10;
export const KARAOKE_MAX_LINE_MS = 5000;
const KARAOKE_STYLE = 'Karaoke';

const KARAOKE_HEADER =
  '[Script Info]\n' +
  'Title: Karaoke Subtitles\n' +
  'ScriptType: v4.00+\n' +
  'WrapStyle: 0\n' +
  'ScaledBorderAndShadow: yes\n' +
  'PlayResX: 1920\n' +
  'PlayResY: 1080\n' +
  '\n' +
  '[V4+ Styles]\n' +
  'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, ' +
  'Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, ' +
  'Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n' +
  // &HAABBGGRR. Under \k a syllable shows SecondaryColour until it is sung, then PrimaryColour.
  `Style: ${KARAOKE_STYLE},DejaVu Sans,48,&H00FFFFFF,&H000088EF,&H00000000,&H80000000,` +
  '0,0,0,0,100,100,0,0,1,2,1,2,10,10,25,1\n' +
  '\n' +
  '[Events]\n' +
  'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n';

interface TimedWord {
  text: string;
  startMs: number;
  endMs: number;
}

export function secondsToMs(seconds: number): number {
  return Math.max(0, Math.floor(seconds * 1000 + 0.5));
}

/** segments.srt: one cue per segment with text, in order. */
export function segmentsSrt(segments: readonly TranscriptSegment[]): Buffer {
  const blocks: string[] = [];
  for (const segment of segments) {
    const text = cleanText(segment.text);
    if (!text) continue;
    const startMs = secondsToMs(segment.start);
    const endMs = Math.max(startMs, secondsToMs(segment.end));
    blocks.push(`${blocks.length + 1}\n${srtTime(startMs)} --> ${srtTime(endMs)}\n${text}\n`);
  }
  return Buffer.from(blocks.join('\n'), 'utf8');
}

/** words.json: `{"words": [{word, start, end}], "metadata": {language, model, device}}`. */
export function wordsJson(segments: readonly TranscriptSegment[], metadata: TranscriptMetadata): Buffer {
  const document = {
    words: timedWords(segments)
      .flat()
      .map((word) => ({ word: word.text, start: word.startMs / 1000, end: word.endMs / 1000 })),
    metadata: { language: metadata.language, model: metadata.model, device: metadata.device },
  };
  return Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
}

/**
 * karaoke.ass: word-timed `{\k}` lines of at most 10 words and 5 s, never across segments. A pause
 * before the next word is its own empty `{\k}`, so each word lights up when it is said.
 */
export function karaokeAss(segments: readonly TranscriptSegment[]): Buffer {
  const events = timedWords(segments).flatMap((words) => karaokeLines(words).map(karaokeEvent));
  return Buffer.from(KARAOKE_HEADER + events.join(''), 'utf8');
}

/**
 * segments.vtt: the cues of segments.srt as WebVTT. WebVTT wants each cue to start no earlier than
 * the one before and to end after it starts, so starts are made monotonic and an end is at least
 * one millisecond past its start.
 */
export function segmentsVtt(segments: readonly TranscriptSegment[]): Buffer {
  const blocks: string[] = [];
  let previousStart = 0;
  for (const segment of segments) {
    const text = cleanText(segment.text);
    if (!text) continue;
    const startMs = Math.max(previousStart, secondsToMs(segment.start));
    const endMs = Math.max(startMs + 1, secondsToMs(segment.end));
    blocks.push(`${vttTime(startMs)} --> ${vttTime(endMs)}\n${vttEscape(text)}\n`);
    previousStart = startMs;
  }
  return vttDocument(blocks);
}

/**
 * karaoke.vtt: the lines of karaoke.ass as WebVTT cues with inline word timestamps. A word gets its
 * `<hh:mm:ss.mmm>` only when that time lies strictly inside the cue and after the previous one, as
 * WebVTT requires; a word that starts no later is shown with the one before.
 */
export function karaokeVtt(segments: readonly TranscriptSegment[]): Buffer {
  const blocks = timedWords(segments).flatMap((words) =>
    karaokeLines(words).map((line) => {
      const startMs = line[0].startMs;
      const endMs = Math.max(startMs + 1, Math.max(...line.map((word) => word.endMs)));
      let marked = startMs;
      let text = vttEscape(line[0].text);
      for (const word of line.slice(1)) {
        text += ' ';
        if (marked < word.startMs && word.startMs < endMs) {
          text += `<${vttTime(word.startMs)}>`;
          marked = word.startMs;
        }
        text += vttEscape(word.text);
      }
      return `${vttTime(startMs)} --> ${vttTime(endMs)}\n${text}\n`;
    }),
  );
  return vttDocument(blocks);
}

/**
 * lyrics.lrc: the lines of karaoke.ass as enhanced LRC. `[mm:ss.xx]` starts a line, `<mm:ss.xx>`
 * before each word says when it is sung and one after the last word when the line ends.
 */
export function lyricsLrc(segments: readonly TranscriptSegment[]): Buffer {
  const lines = timedWords(segments).flatMap((words) =>
    karaokeLines(words).map((line) => {
      const start = centiseconds(line[0].startMs);
      const end = Math.max(...line.map((word) => centiseconds(word.endMs)));
      const sung = line.map((word) => `<${lrcTime(centiseconds(word.startMs))}>${word.text}`).join(' ');
      return `[${lrcTime(start)}]${sung} <${lrcTime(end)}>\n`;
    }),
  );
  return Buffer.from(lines.join(''), 'utf8');
}

/** The number of cues segments.srt holds. */
export function countCues(segments: readonly TranscriptSegment[]): number {
  return segments.filter((segment) => cleanText(segment.text)).length;
}

/** The number of words words.json holds. */
export function countWords(segments: readonly TranscriptSegment[]): number {
  return timedWords(segments).reduce((sum, words) => sum + words.length, 0);
}

export function transcriptText(segments: readonly TranscriptSegment[]): string {
  return segments
    .map((segment) => cleanText(segment.text))
    .filter((text) => text)
    .join(' ');
}

/** Each segment's words with text, timed in ms and made monotonic across the transcript. */
function timedWords(segments: readonly TranscriptSegment[]): TimedWord[][] {
  let previousStart = 0;
  return segments.map((segment) => {
    const words: TimedWord[] = [];
    for (const word of segment.words ?? []) {
      const text = cleanText(word.word);
      if (!text) continue;
      const startMs = Math.max(previousStart, secondsToMs(word.start));
      const endMs = Math.max(startMs, secondsToMs(word.end));
      words.push({ text, startMs, endMs });
      previousStart = startMs;
    }
    return words;
  });
}

function karaokeLines(words: readonly TimedWord[]): TimedWord[][] {
  const lines: TimedWord[][] = [];
  let line: TimedWord[] = [];
  for (const word of words) {
    if (line.length > 0 && (line.length === KARAOKE_MAX_WORDS || word.endMs - line[0].startMs > KARAOKE_MAX_LINE_MS)) {
      lines.push(line);
      line = [];
    }
    line.push(word);
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

function karaokeEvent(line: readonly TimedWord[]): string {
  const starts = line.map((word) => centiseconds(word.startMs));
  const ends = line.map((word) => centiseconds(word.endMs));
  const lineEnd = Math.max(...ends);
  const syllables: string[] = [];
  line.forEach((word, index) => {
    if (index + 1 < line.length) {
      const nextStart = starts[index + 1];
      const spokenUntil = Math.min(ends[index], nextStart);
      syllables.push(`{\\k${spokenUntil - starts[index]}}${assSafe(word.text)} `);
      if (nextStart > spokenUntil) syllables.push(`{\\k${nextStart - spokenUntil}}`);
    } else {
      syllables.push(`{\\k${lineEnd - starts[index]}}${assSafe(word.text)}`);
    }
  });
  return `Dialogue: 0,${assTime(starts[0])},${assTime(lineEnd)},${KARAOKE_STYLE},,0,0,0,,${syllables.join('')}\n`;
}

function cleanText(text: string): string {
  return text.replace(/[ \t\n\r\f\v]+/g, ' ').replace(/^ +| +$/g, '');
}

// Braces open override blocks and a backslash starts an escape in ASS event text.
function assSafe(text: string): string {
  return text.replace(/\{/g, '(').replace(/\}/g, ')').replace(/\\/g, '/');
}

function centiseconds(ms: number): number {
  return Math.floor((ms + 5) / 10);
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

function srtTime(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)},${pad(ms % 1000, 3)}`;
}

function assTime(cs: number): string {
  const hours = Math.floor(cs / 360_000);
  const minutes = Math.floor((cs % 360_000) / 6000);
  const seconds = Math.floor((cs % 6000) / 100);
  return `${hours}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(cs % 100, 2)}`;
}

function vttTime(ms: number): string {
  return srtTime(ms).replace(',', '.');
}

// In cue text "&" starts an entity and "<" a tag; escaping ">" also keeps "-->" out.
function vttEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function vttDocument(blocks: readonly string[]): Buffer {
  return Buffer.from(`WEBVTT\n${blocks.map((block) => `\n${block}`).join('')}`, 'utf8');
}

function lrcTime(cs: number): string {
  return `${pad(Math.floor(cs / 6000), 2)}:${pad(Math.floor((cs % 6000) / 100), 2)}.${pad(cs % 100, 2)}`;
}
