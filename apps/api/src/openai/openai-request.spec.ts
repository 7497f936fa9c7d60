import { HttpException } from '@nestjs/common';
import { readAudioForm } from './openai-request';

function refusal(fn: () => unknown): { status: number; error: { message: string; param: string | null; code: string | null } } {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof HttpException)) throw error;
    return { status: error.getStatus(), ...(error.getResponse() as { error: { message: string; param: string | null; code: string | null } }) };
  }
  throw new Error('expected a refusal');
}

describe('readAudioForm', () => {
  it('reads the defaults: json, no granularity, whisper-1 left to the service', () => {
    expect(readAudioForm('transcribe', { model: 'whisper-1' }, true)).toEqual({
      task: 'transcribe',
      responseFormat: 'json',
      granularities: [],
    });
  });

  it('passes every other model name, language, prompt and temperature through', () => {
    expect(
      readAudioForm('transcribe', { model: 'base', language: 'pt', prompt: 'Conceição', temperature: '0.2' }, true),
    ).toEqual({ task: 'transcribe', responseFormat: 'json', granularities: [], model: 'base', language: 'pt', prompt: 'Conceição', temperature: 0.2 });
  });

  it('takes timestamp_granularities with and without [] (multer makes both an array), once each', () => {
    const fields = { model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'], 'timestamp_granularities[]': 'word' };
    expect(readAudioForm('transcribe', fields, true).granularities).toEqual(['word', 'segment']);
  });

  it('takes file_url instead of file', () => {
    expect(readAudioForm('transcribe', { model: 'whisper-1', file_url: 'https://example.com/a.mp3' }, false).fileUrl).toBe(
      'https://example.com/a.mp3',
    );
  });

  it('a translation ignores language and granularities, as OpenAI\'s translation route has neither', () => {
    expect(readAudioForm('translate', { model: 'whisper-1', language: 'pt', timestamp_granularities: ['word'] }, true)).toEqual({
      task: 'translate',
      responseFormat: 'json',
      granularities: [],
    });
  });

  it.each([
    ['no file nor file_url', {}, false, 'file'],
    ['both file and file_url', { file_url: 'https://example.com/a.mp3' }, true, 'file_url'],
    ['no model', { model: undefined }, true, 'model'],
    ['an unknown response_format', { response_format: 'xml' }, true, 'response_format'],
    ['a temperature above 1', { temperature: '1.5' }, true, 'temperature'],
    ['a temperature that is not a number', { temperature: 'warm' }, true, 'temperature'],
    ['an unknown granularity', { response_format: 'verbose_json', timestamp_granularities: ['sentence'] }, true, 'timestamp_granularities'],
    ['word granularity with json', { timestamp_granularities: ['word'] }, true, 'timestamp_granularities'],
    ['segment granularity with srt', { response_format: 'srt', 'timestamp_granularities[]': 'segment' }, true, 'timestamp_granularities'],
  ])('refuses %s with a 400 naming the field', (_case, fields, hasFile, param) => {
    const answer = refusal(() => readAudioForm('transcribe', { model: 'whisper-1', ...fields }, hasFile));
    expect(answer.status).toBe(400);
    expect(answer.error.param).toBe(param);
    expect(answer.error.message).toContain(`'${param}'`);
  });
});
