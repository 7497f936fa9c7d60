import { CAPTION_PRESETS, CAPTION_PRESET_NAMES } from '@app/common';
import { ApiUnderTest, TestMedia } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

const LEGACY_MISSING = 'url_video, url_srt, path, and output_filename are required';

/** The caption style routes and fields, and img2vid's frame sizes, as the API answers them before any node runs a job. */
describe('caption styles and video sizes (API process, real Redis)', () => {
  let deployment: Deployment;
  let api: ApiUnderTest;
  let media: TestMedia;
  let caption: Record<string, unknown>;

  beforeAll(async () => {
    deployment = await startDeployment({ name: 'e2e-caption-styles', media: ['video.mp4'], api: { SYNC_TIMEOUT_S: '1' } });
    ({ api, media } = deployment);
    const base = media.publicUrl(media.prefix);
    caption = {
      url_video: media.urls['video.mp4'],
      url_srt: `${base}legenda.srt`,
      url_words: undefined,
      path: `${media.prefix}out/`,
      output_filename: 'legendado.mp4',
      async: true,
    };
  });

  afterAll(() => deployment?.stop());

  it('GET /video/caption/styles lists every preset with its fields', async () => {
    const answer = await api.call('GET', '/video/caption/styles');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      styles: CAPTION_PRESET_NAMES.map((name) => ({ name, style: CAPTION_PRESETS[name] })),
    });
    expect(CAPTION_PRESET_NAMES).toEqual(expect.arrayContaining(['classic', 'karaoke', 'shorts', 'pop', 'lower_third']));
  });

  it.each([
    ['/video/caption', { preset: 'pop', kind: 'highlight', max_words_per_line: 3 }],
    ['/video/caption_style', { kind: 'word_by_word', box: { alpha: 0 }, colors: { highlight: '#FF0000' } }],
  ])('%s accepts a word-level style', async (path, style) => {
    const answer = await api.call('POST', path, { body: { ...caption, style } });
    expect(answer.status).toBe(202);
  });

  it.each<[{ url_words?: string; auto_captions?: object }]>([
    [{ url_words: 'words.json' }],
    [{ auto_captions: { language: 'pt' } }],
    [{ auto_captions: {} }],
  ])('url_words or auto_captions stand in for url_srt: %j', async (source) => {
    const url_words = source.url_words && `${media.publicUrl(media.prefix)}${source.url_words}`;
    const body = { ...caption, url_srt: undefined, ...source, url_words };
    const answer = await api.call('POST', '/video/caption', { body });
    expect(answer.status).toBe(202);
  });

  it('with neither url_srt, url_words nor auto_captions: the replaced service\'s sentence', async () => {
    const answer = await api.call('POST', '/video/caption', { body: { ...caption, url_srt: undefined } });
    expect([answer.status, answer.body]).toEqual([400, { error: 'Bad Request', message: LEGACY_MISSING }]);
  });

  it.each([
    ['style.kind', { style: { kind: 'bounce' } }],
    ['style.preset', { style: { preset: 'tiktok' } }],
    ['style.max_words_per_line', { style: { max_words_per_line: 0 } }],
    ['style.max_chars_per_line', { style: { max_chars_per_line: 500 } }],
    ['style.max_lines', { style: { max_lines: 3 } }],
    ['style.all_caps', { style: { all_caps: 1 } }],
    ['style.colors.highlight', { style: { colors: { highlight: '&H0000FF&' } } }],
    ['style.colors.spoken', { style: { colors: { spoken: '#12345' } } }],
    ['style.box.color', { style: { box: { color: 'black' } } }],
    ['style.box.alpha', { style: { box: { alpha: -1 } } }],
    ['style.box.padding', { style: { box: { padding: '4}{\\p1' } } }],
    ['style.box.enabled', { style: { box: { enabled: 'no' } } }],
    ['style.pop.scale', { style: { pop: { scale: 0.5 } } }],
    ['style.position.marginHorizontal', { style: { position: { marginHorizontal: 201 } } }],
    ['url_words', { url_words: 'ftp://example.com/words.json' }],
    ['auto_captions.model', { auto_captions: { model: '../../etc' } }],
    ['auto_captions.language', { auto_captions: { language: 'Portuguese' } }],
    ['auto_captions', { auto_captions: 'yes' }],
  ])('%s: invalid values are a 400 naming the field', async (field, extra) => {
    const answer = await api.call('POST', '/video/caption_style', { body: { ...caption, ...extra } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'Bad Request' });
    expect(String(answer.body.message)).toContain(field);
  });

  it.each([
    ['resolution', { resolution: '3840x2160' }],
    ['resolution', { resolution: 1080 }],
    ['fit', { fit: 'contain' }],
  ])('img2vid %s: invalid values are a 400 naming the field', async (field, extra) => {
    const images = [{ id: 'a', image_url: `${media.publicUrl(media.prefix)}a.jpg`, duracao: 1 }];
    const answer = await api.call('POST', '/video/img2vid', { body: { images, path: 'p/', async: true, ...extra } });
    expect(answer.status).toBe(400);
    expect(String(answer.body.message)).toContain(field);
  });

  it('img2vid accepts a vertical size with fit blur', async () => {
    const images = [{ id: 'a', image_url: `${media.publicUrl(media.prefix)}a.jpg`, duracao: 1 }];
    const body = { images, path: `${media.prefix}out/`, async: true, resolution: '1080x1920', fit: 'blur' };
    expect((await api.call('POST', '/video/img2vid', { body })).status).toBe(202);
  });
});
