import { readStockOutput, stockWhisperInput, transcribeResult, transcriptUploads } from './stock-whisper';

/** Output in the shape RunPod's stock worker-faster_whisper documents (segments without words). */
const STOCK_OUTPUT = {
  segments: [
    { id: 1, seek: 0, start: 0.0, end: 2.3, text: ' Olá, tudo bem?', tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0 },
    { id: 2, seek: 0, start: 4.7, end: 6.2, text: ' Ação e coração.', tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0 },
  ],
  detected_language: 'pt',
  transcription: 'Olá, tudo bem? Ação e coração.',
  translation: null,
  device: 'cuda',
  model: 'base',
  word_timestamps: [
    { word: ' Olá,', start: 0.1, end: 0.6 },
    { word: ' tudo', start: 0.7, end: 1.1 },
    { word: ' bem?', start: 1.2, end: 2.3 },
    { word: ' Ação', start: 4.7, end: 5.2 },
    { word: ' e', start: 5.3, end: 5.4 },
    { word: ' coração.', start: 5.5, end: 6.2 },
  ],
};

describe('stock worker-faster_whisper', () => {
  it('asks for word timestamps with the legacy decoding defaults, never for our operation fields', () => {
    const input = stockWhisperInput({ audio_url: 'https://example.com/fala.mp3', path: 'p/', language: 'pt' });
    expect(input).toMatchObject({ audio: 'https://example.com/fala.mp3', model: 'base', language: 'pt', word_timestamps: true, beam_size: 5, best_of: 5 });
    expect(input).not.toHaveProperty('path');
    expect(input).not.toHaveProperty('operation');
  });

  it('puts each word back in the segment it was said in and builds the six files', () => {
    const transcript = readStockOutput(STOCK_OUTPUT);
    expect(transcript.segments.map((segment) => segment.words?.map((word) => word.word.trim()))).toEqual([
      ['Olá,', 'tudo', 'bem?'],
      ['Ação', 'e', 'coração.'],
    ]);
    const files = Object.fromEntries(transcriptUploads(transcript).map((file) => [file.filename, file.content.toString('utf8')]));
    expect(files['segments.srt']).toBe('1\n00:00:00,000 --> 00:00:02,300\nOlá, tudo bem?\n\n2\n00:00:04,700 --> 00:00:06,200\nAção e coração.\n');
    expect(files['karaoke.ass']).toContain('Dialogue: 0,0:00:04.70,0:00:06.20,Karaoke,,0,0,0,,{\\k50}Ação {\\k10}{\\k10}e {\\k10}{\\k70}coração.\n');
    expect(JSON.parse(files['words.json'])).toMatchObject({ metadata: { language: 'pt', model: 'base', device: 'cuda' } });
    expect(files['segments.vtt']).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:02.300\nOlá, tudo bem?\n\n00:00:04.700 --> 00:00:06.200\nAção e coração.\n');
    expect(files['karaoke.vtt']).toContain('00:00:04.700 --> 00:00:06.200\nAção <00:00:05.300>e <00:00:05.500>coração.\n');
    expect(files['lyrics.lrc']).toContain('[00:04.70]<00:04.70>Ação <00:05.30>e <00:05.50>coração. <00:06.20>\n');
    const result = transcribeResult(transcript, {
      'segments.srt': 'u/s',
      'segments.vtt': 'u/v',
      'words.json': 'u/w',
      'karaoke.ass': 'u/k',
      'karaoke.vtt': 'u/kv',
      'lyrics.lrc': 'u/l',
    });
    expect(result).toEqual({
      language: 'pt',
      transcription: 'Olá, tudo bem? Ação e coração.',
      files: {
        segments: { srt: 'u/s', vtt: 'u/v', json: 'u/w' },
        words: { ass_karaoke: 'u/k', vtt_karaoke: 'u/kv', lrc: 'u/l', json: 'u/w' },
      },
      segments: 2,
      words: 6,
      model: 'base',
      device: 'cuda',
    });
  });

  it('refuses an output without segments, naming what is missing', () => {
    expect(() => readStockOutput({ transcription: 'x' })).toThrow('no segments');
    expect(() => readStockOutput({ segments: [{ start: 0 }] })).toThrow('segments[0]');
  });
});
