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
      encoderFallback: null,
      whisperDevice: 'cpu',
      whisperFallback: null,
      gpu: null,
      models: ['base', 'tiny.en'],
      modelAliases: {},
      warmModels: [],
    });
  });

  it('reads the GPU and the reasons of both fallbacks from a ready line', () => {
    const ready = parseWorkerMessage(
      JSON.stringify({
        type: 'ready',
        encoder: 'libx264',
        nvenc: false,
        encoder_fallback: 'libx264 instead of h264_nvenc: the NVIDIA H200 has no NVENC engine',
        whisper_device: 'cpu',
        whisper_fallback: 'CPU int8 instead of CUDA: CTranslate2 4.8.5 cannot load libcublas.so.12',
        gpu: 'NVIDIA H200',
        models: ['tiny.en'],
        warm_models: [],
        pid: 8,
      }),
    );
    expect(capabilitiesFrom(ready as Parameters<typeof capabilitiesFrom>[0])).toMatchObject({
      gpu: 'NVIDIA H200',
      encoderFallback: 'libx264 instead of h264_nvenc: the NVIDIA H200 has no NVENC engine',
      whisperFallback: 'CPU int8 instead of CUDA: CTranslate2 4.8.5 cannot load libcublas.so.12',
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
