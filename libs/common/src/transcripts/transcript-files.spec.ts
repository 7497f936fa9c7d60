import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TranscriptMetadata, TranscriptSegment, karaokeAss, segmentsSrt, wordsJson } from './transcript-files';

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
  });
});
