import { languageName, openAiAnswer } from './openai-answers';
import { OpenAiAudioRequest } from './openai-request';

const SRT = '1\n00:00:00,000 --> 00:00:02,300\nOlá, tudo bem?\n\n2\n00:00:04,700 --> 00:00:06,200\nAção e coração.\n';
const transcript = {
  text: 'Olá, tudo bem? Ação e coração.',
  language: 'pt',
  segmentsSrt: SRT,
  segmentsVtt: 'WEBVTT\n\n00:00:00.000 --> 00:00:02.300\nOlá, tudo bem?\n',
  words: [
    { word: 'Olá,', start: 0, end: 0.5 },
    { word: 'coração.', start: 5.5, end: 6.25 },
  ],
};
const request = (extra: Partial<OpenAiAudioRequest>): OpenAiAudioRequest => ({
  task: 'transcribe',
  responseFormat: 'json',
  granularities: [],
  ...extra,
});

describe('openAiAnswer', () => {
  it('json is {"text"} alone; text is the text and a newline', () => {
    expect(openAiAnswer(request({}), transcript)).toEqual({ contentType: 'application/json', body: { text: transcript.text } });
    expect(openAiAnswer(request({ responseFormat: 'text' }), transcript)).toEqual({
      contentType: 'text/plain; charset=utf-8',
      body: `${transcript.text}\n`,
    });
  });

  it('srt and vtt are the job\'s own files', () => {
    expect(openAiAnswer(request({ responseFormat: 'srt' }), transcript).body).toBe(SRT);
    expect(openAiAnswer(request({ responseFormat: 'vtt' }), transcript)).toEqual({
      contentType: 'text/vtt; charset=utf-8',
      body: transcript.segmentsVtt,
    });
  });

  it('verbose_json: segments from segments.srt, duration where the last one ends, words only when asked', () => {
    const body = openAiAnswer(request({ responseFormat: 'verbose_json', temperature: 0.2 }), transcript).body as Record<string, unknown>;
    expect(body).toEqual({
      task: 'transcribe',
      language: 'portuguese',
      duration: 6.25,
      text: transcript.text,
      segments: [
        { id: 0, seek: 0, start: 0, end: 2.3, text: ' Olá, tudo bem?', tokens: [], temperature: 0.2, avg_logprob: 0, compression_ratio: 0, no_speech_prob: 0 },
        { id: 1, seek: 0, start: 4.7, end: 6.2, text: ' Ação e coração.', tokens: [], temperature: 0.2, avg_logprob: 0, compression_ratio: 0, no_speech_prob: 0 },
      ],
    });
    const withWords = openAiAnswer(request({ responseFormat: 'verbose_json', granularities: ['word'] }), transcript).body;
    expect((withWords as Record<string, unknown>).words).toEqual(transcript.words);
  });

  it('a translation is in English whatever was spoken', () => {
    const body = openAiAnswer(request({ task: 'translate', responseFormat: 'verbose_json' }), transcript).body;
    expect(body).toMatchObject({ task: 'translate', language: 'english' });
  });

  it('names languages as OpenAI does, leaving an unknown code as it is', () => {
    expect(languageName('pt')).toBe('portuguese');
    expect(languageName('yue')).toBe('cantonese');
    expect(languageName('not a code')).toBe('not a code');
  });
});
