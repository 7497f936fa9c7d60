/*
 * Caption style presets: a request names one in `style.preset` and may override any of its fields.
 * Declared once here; the API lists them (GET /video/caption/styles) and the generated schema
 * file carries them to the worker, which applies them.
 */

/** The fields of a preset, in the shape of a request's `style` (CaptionStyle, less `preset`). */
export type CaptionPresetFields = Readonly<Record<string, unknown>>;

export const CAPTION_PRESETS = {
  classic: {
    kind: 'classic',
    font: { name: 'DejaVu Sans', size: 22, bold: true },
    colors: { primary: '#FFFFFF', outline: '#000000' },
    border: { style: 1, width: 2, shadow: 1 },
    max_chars_per_line: 42,
    max_lines: 2,
    position: { alignment: 2, marginVertical: 20 },
  },
  karaoke: {
    kind: 'karaoke',
    font: { name: 'DejaVu Sans', size: 24, bold: true },
    colors: { primary: '#FFFFFF', highlight: '#FFC400', outline: '#000000' },
    border: { style: 1, width: 2.5, shadow: 0 },
    max_words_per_line: 6,
    max_chars_per_line: 32,
    max_lines: 2,
    position: { alignment: 2, marginVertical: 24 },
  },
  // Opaque: a translucent box would show its overlaps where the highlighted word's run meets the rest.
  shorts: {
    kind: 'highlight',
    font: { name: 'DejaVu Sans', size: 26, bold: true },
    colors: { primary: '#FFFFFF', highlight: '#FFE100' },
    box: { enabled: true, color: '#000000', alpha: 0, padding: 5 },
    max_words_per_line: 3,
    max_chars_per_line: 20,
    max_lines: 2,
    all_caps: true,
    position: { alignment: 5, marginVertical: 0 },
  },
  pop: {
    kind: 'pop',
    font: { name: 'DejaVu Sans', size: 28, bold: true },
    colors: { primary: '#D8D8D8', spoken: '#FFFFFF', highlight: '#3CFF5A', outline: '#000000' },
    border: { style: 1, width: 3, shadow: 1 },
    pop: { scale: 1.3 },
    max_words_per_line: 3,
    max_chars_per_line: 18,
    max_lines: 1,
    all_caps: true,
    position: { alignment: 2, marginVertical: 40 },
  },
  lower_third: {
    kind: 'classic',
    font: { name: 'DejaVu Sans', size: 16, bold: false },
    colors: { primary: '#FFFFFF' },
    box: { enabled: true, color: '#102040', alpha: 48, padding: 6 },
    max_chars_per_line: 48,
    max_lines: 2,
    position: { alignment: 1, marginVertical: 24, marginHorizontal: 24 },
  },
} as const satisfies Record<string, CaptionPresetFields>;

export type CaptionPresetName = keyof typeof CAPTION_PRESETS;

export const CAPTION_PRESET_NAMES = Object.keys(CAPTION_PRESETS) as CaptionPresetName[];

export const CAPTION_KINDS = ['classic', 'karaoke', 'highlight', 'word_by_word', 'pop'] as const;

export type CaptionKind = (typeof CAPTION_KINDS)[number];
