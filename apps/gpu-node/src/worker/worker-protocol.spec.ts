import { capabilitiesFrom, parseWorkerMessage } from './worker-protocol';

describe('the worker protocol', () => {
  it('parses each message type the worker sends', () => {
    expect(parseWorkerMessage('{"type":"progress","id":"a","percent":37.5}')).toEqual({
      type: 'progress',
      id: 'a',
      percent: 37.5,
    });
    expect(parseWorkerMessage('{"type":"cancelled","id":"a"}')).toEqual({ type: 'cancelled', id: 'a' });
    expect(parseWorkerMessage('{"type":"state","warm_models":["tiny.en"]}')).toEqual({
      type: 'state',
      warm_models: ['tiny.en'],
    });
    expect(
      parseWorkerMessage(
        '{"type":"error","id":"a","error":{"code":"invalid_input","message":"url_video: nope","field":"url_video","retryable":false}}',
      ),
    ).toMatchObject({ type: 'error', error: { code: 'invalid_input', field: 'url_video', retryable: false } });
  });

  it('ignores lines that are not protocol messages', () => {
    expect(parseWorkerMessage('Traceback (most recent call last):')).toBeNull();
    expect(parseWorkerMessage('[1, 2]')).toBeNull();
    expect(parseWorkerMessage('{"type":"hello"}')).toBeNull();
    expect(parseWorkerMessage('null')).toBeNull();
  });

  it('reads the capabilities of a ready line, warm models optional', () => {
    const ready = parseWorkerMessage(
      '{"type":"ready","encoder":"libx264","nvenc":false,"whisper_device":"cpu","models":["base","tiny.en"],"pid":7}',
    );
    expect(ready?.type).toBe('ready');
    expect(capabilitiesFrom(ready as Parameters<typeof capabilitiesFrom>[0])).toEqual({
      pid: 7,
      encoder: 'libx264',
      nvenc: false,
      whisperDevice: 'cpu',
      gpu: null,
      models: ['base', 'tiny.en'],
      modelAliases: {},
      warmModels: [],
    });
  });

  it('reads the model aliases a ready line carries', () => {
    const ready = parseWorkerMessage(
      '{"type":"ready","encoder":"libx264","nvenc":false,"whisper_device":"cpu","models":["base","large-v3"],' +
        '"model_aliases":{"large-v3":"base"},"pid":7}',
    );
    expect(capabilitiesFrom(ready as Parameters<typeof capabilitiesFrom>[0]).modelAliases).toEqual({ 'large-v3': 'base' });
  });
});
