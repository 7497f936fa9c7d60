import { CAPTION_PRESETS, CAPTION_PRESET_NAMES } from './caption-presets';
import { validateJobInput } from './validate-job-input';

const captionWith = (style: object) => ({
  url_video: 'https://example.com/video.mp4',
  url_srt: 'https://example.com/subtitles.srt',
  path: 'p/',
  output_filename: 'out.mp4',
  style,
});

describe('caption presets', () => {
  it.each(CAPTION_PRESET_NAMES)('%s is a valid style on its own', (name) => {
    expect(validateJobInput('caption', captionWith(CAPTION_PRESETS[name]))).toMatchObject({ ok: true });
  });

  it('are what style.preset accepts, and nothing else', () => {
    for (const name of CAPTION_PRESET_NAMES) {
      expect(validateJobInput('caption', captionWith({ preset: name }))).toMatchObject({ ok: true });
    }
    expect(validateJobInput('caption', captionWith({ preset: 'nope' }))).toMatchObject({
      ok: false,
      errors: [{ field: 'style.preset' }],
    });
  });
});
