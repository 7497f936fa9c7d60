import { LineType, parseEnhanced } from 'clrc';
import { WebVTTParser } from 'webvtt-parser';
import htmlEntities from 'webvtt-parser/html-entities.json';

export interface TimedText {
  startMs: number;
  endMs: number;
  text: string;
  /** The inline timestamps (karaoke.vtt) or word times (lyrics.lrc), in order. */
  marksMs: number[];
}

/**
 * Parses a WebVTT file with the W3C validator's parser and throws on any error it reports (cue
 * order, an end not after its start, inline timestamps outside their cue or not increasing,
 * bad escapes). The cue text comes back unescaped, tags dropped; the full entity table is given
 * because the parser's built-in subset misreads `&amp;`.
 */
export function parseVtt(content: string): TimedText[] {
  const { cues, errors } = new WebVTTParser(htmlEntities).parse(content, 'metadata');
  if (errors.length > 0) {
    throw new Error(`WebVTT errors: ${errors.map((error) => `line ${error.line}: ${error.message}`).join('; ')}`);
  }
  return cues.map((cue) => ({
    startMs: Math.round(cue.startTime * 1000),
    endMs: Math.round(cue.endTime * 1000),
    text: cue.tree.children
      .filter((node) => node.type === 'text')
      .map((node) => node.value)
      .join(''),
    marksMs: cue.tree.children
      .filter((node) => node.type === 'timestamp')
      .map((node) => Math.round(Number(node.value) * 1000)),
  }));
}

/** Parses an enhanced LRC file with clrc; throws on a line that is not a timed lyric. */
export function parseEnhancedLrc(content: string): TimedText[] {
  return parseEnhanced(content)
    .filter((line) => line.raw !== '')
    .map((line) => {
      if (line.type !== LineType.ENHANCED_LYRIC) throw new Error(`not an enhanced LRC lyric line: ${line.raw}`);
      const words = line.words.filter((word) => word.content.trim() !== '');
      const marksMs = line.words.map((word) => word.startMillisecond);
      return {
        startMs: line.startMillisecond,
        endMs: marksMs[marksMs.length - 1],
        text: words.map((word) => word.content.trim()).join(' '),
        marksMs: marksMs.slice(0, -1),
      };
    });
}

/** Throws unless cues start in order, each ends after it starts, and all lie within [0, durationMs]. */
export function expectOrderedWithin(cues: readonly TimedText[], durationMs: number): void {
  let previousStart = 0;
  for (const [index, cue] of cues.entries()) {
    const where = `cue ${index + 1} (${cue.startMs}-${cue.endMs} ms)`;
    if (cue.startMs < previousStart) throw new Error(`${where} starts before the one before it`);
    if (cue.endMs < cue.startMs) throw new Error(`${where} ends before it starts`);
    if (cue.endMs > durationMs) throw new Error(`${where} ends after the audio (${durationMs} ms)`);
    for (const mark of cue.marksMs) {
      if (mark < cue.startMs || mark > cue.endMs) throw new Error(`${where} has a word time ${mark} ms outside it`);
    }
    if (cue.marksMs.some((mark, at) => at > 0 && mark < cue.marksMs[at - 1])) {
      throw new Error(`${where} has word times out of order`);
    }
    previousStart = cue.startMs;
  }
}
