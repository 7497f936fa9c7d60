import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectOrderedWithin, parseEnhancedLrc, parseVtt } from '../../../../test/support/subtitle-checks';
import {
  TranscriptMetadata,
  TranscriptSegment,
  karaokeAss,
  karaokeVtt,
  lyricsLrc,
  segmentsSrt,
  segmentsVtt,
  wordsJson,
} from './transcript-files';

const FIXTURES = join(__dirname, '../../contract/fixtures/transcripts');

const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('transcript files, byte for byte as the Python worker writes them', () => {
  it('has the shared fixtures to check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(3);
  });

  describe.each(cases)('%s', (name) => {
    const dir = join(FIXTURES, name);
    const input = JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8')) as {
      segments: TranscriptSegment[];
      metadata: TranscriptMetadata;
    };

    it('segments.srt', () => {
      expect(segmentsSrt(input.segments).equals(readFileSync(join(dir, 'segments.srt')))).toBe(true);
      expect(segmentsSrt(input.segments).toString('utf8')).toBe(readFileSync(join(dir, 'segments.srt'), 'utf8'));
    });

    it('karaoke.ass', () => {
      expect(karaokeAss(input.segments).toString('utf8')).toBe(readFileSync(join(dir, 'karaoke.ass'), 'utf8'));
      expect(karaokeAss(input.segments).equals(readFileSync(join(dir, 'karaoke.ass')))).toBe(true);
    });

    it('words.json', () => {
      const written = wordsJson(input.segments, input.metadata);
      expect(written.toString('utf8')).toBe(readFileSync(join(dir, 'words.json'), 'utf8'));
      expect(written.equals(readFileSync(join(dir, 'words.json')))).toBe(true);
    });

    it.each([
      ['segments.vtt', segmentsVtt],
      ['karaoke.vtt', karaokeVtt],
      ['lyrics.lrc', lyricsLrc],
    ])('%s', (filename, writer) => {
      const written = writer(input.segments);
      expect(written.toString('utf8')).toBe(readFileSync(join(dir, filename), 'utf8'));
      expect(written.equals(readFileSync(join(dir, filename)))).toBe(true);
    });

    const words = input.segments.flatMap((segment) => segment.words ?? []);
    const lastTime = Math.max(0, ...input.segments.flatMap((segment) => [segment.start, segment.end]), ...words.map((word) => word.end));
    const spoken = (pieces: string[]) =>
      pieces
        .map((piece) => piece.split(/[ \t\n\r\f\v]+/).filter(Boolean).join(' '))
        .filter(Boolean)
        .join(' ');

    it('segments.vtt parses as WebVTT with the segments\' text, in order, within the transcript', () => {
      const cues = parseVtt(readFileSync(join(dir, 'segments.vtt'), 'utf8'));
      expectOrderedWithin(cues, Math.round(lastTime * 1000) + 1);
      expect(cues.map((cue) => cue.text).join(' ')).toBe(spoken(input.segments.map((segment) => segment.text)));
    });

    it('karaoke.vtt parses as WebVTT, its inline word timestamps inside each cue and increasing', () => {
      const cues = parseVtt(readFileSync(join(dir, 'karaoke.vtt'), 'utf8'));
      expectOrderedWithin(cues, Math.round(lastTime * 1000) + 1);
      expect(cues.map((cue) => cue.text).join(' ')).toBe(spoken(words.map((word) => word.word)));
    });

    it('lyrics.lrc parses as enhanced LRC, a time for every word, in order', () => {
      const lines = parseEnhancedLrc(readFileSync(join(dir, 'lyrics.lrc'), 'utf8'));
      expectOrderedWithin(lines, Math.round(lastTime * 1000) + 10);
      expect(lines.flatMap((line) => line.marksMs)).toHaveLength(spoken(words.map((word) => word.word)).split(' ').filter(Boolean).length);
      expect(lines.map((line) => line.text).join(' ')).toBe(spoken(words.map((word) => word.word)));
    });
  });
});
