/**
 * The string rules of the job contract. Each pattern is checked by class-validator (JavaScript
 * RegExp) here and by jsonschema (Python `re`) in the worker, so each is written to mean the same
 * in both: no flags, no lookbehind, and explicit character classes instead of `\d`, `\w` or `\s`,
 * whose Unicode coverage differs between the two engines.
 */

// Python's `$` also matches just before a final "\n"; the lookahead closes that gap and is a no-op
// in JavaScript, where `$` without the m flag only matches at the very end.
const END = '$(?!\\n)';

/** C0 controls, DEL and C1 controls. */
const CONTROL = '\\x00-\\x1f\\x7f-\\x9f';
/** Unicode white space outside ASCII: no-break, Ogham, the en/em family, separators, BOM. */
const UNICODE_SPACE = '\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

export interface ContractPattern {
  readonly regex: RegExp;
  /** Completes "<field> …" in validation messages. */
  readonly rule: string;
}

function wholeString(body: string, rule: string): ContractPattern {
  return { regex: new RegExp(`^(?:${body})${END}`), rule };
}

// A host is DNS labels (underscores allowed for container names) or a bracketed IPv6 literal.
// No user-info part: credentials in a URL would be secrets carried in the job.
const HOST = '[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*|\\[[0-9A-Fa-f:.]+\\]';

// Plain spaces are allowed inside the path, though not at its end: the replaced service returned
// result URLs with unencoded spaces ("…/Project Name/videos/video_1.mp4"), and its clients feed
// them back as inputs. The worker percent-encodes them before fetching.
const URL_CHAR = `[^${CONTROL}${UNICODE_SPACE}\\\\]`;
const URL_LAST_CHAR = `[^${CONTROL} ${UNICODE_SPACE}\\\\]`;

export const MEDIA_URL = wholeString(
  `(?:https?|s3)://(?:${HOST})(?::[0-9]{1,5})?(?:[/?#](?:${URL_CHAR}*${URL_LAST_CHAR})?)?`,
  'must be an http://, https:// or s3:// URL with a host, no credentials, no backslash, ' +
    'and no white space other than spaces inside its path',
);

// Where the API POSTs a job's final response: http(s) only; the same host rules as media URLs.
export const WEBHOOK_URL = wholeString(
  `https?://(?:${HOST})(?::[0-9]{1,5})?(?:[/?#](?:${URL_CHAR}*${URL_LAST_CHAR})?)?`,
  'must be an http:// or https:// URL with a host, no credentials, no backslash, ' +
    'and no white space other than spaces inside its path',
);

// `..` is refused anywhere, not only as a whole segment: simpler to state, and no legitimate key
// prefix needs it.
export const S3_KEY_PREFIX = wholeString(
  `(?!/)(?:[^${CONTROL}\\\\.]|\\.(?!\\.))+`,
  'must not start with "/" nor contain "..", a backslash or control characters',
);

export const OUTPUT_VIDEO_FILENAME = wholeString(
  `(?:[^${CONTROL}/\\\\.]|\\.(?!\\.))+\\.(?:[mM][pP]4|[mM][oO][vV]|[mM][kK][vV]|[mM]4[vV])`,
  'must be a file name (no "/", backslash, ".." or control characters) ending in .mp4, .mov, .mkv or .m4v',
);

export const IMAGE_ID = wholeString(`[^${CONTROL}]+`, 'must not contain control characters');

// The name ends up inside a libass style override in an FFmpeg filtergraph, where `,` `:` `'` `\`
// `[` `]` `;` `=` would be syntax; only characters found in real font family names are let through.
export const FONT_NAME = wholeString(
  '[A-Za-z0-9\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u00ff\\u0100-\\u017f _.-]+',
  'may only contain letters (accented Latin included), digits, spaces, "-", "_" and "."',
);

export const HEX_COLOR = wholeString('#[0-9A-Fa-f]{6}', 'must be a colour written #RRGGBB');

export const WHISPER_MODEL_NAME = wholeString(
  '[A-Za-z0-9][A-Za-z0-9._-]{0,63}',
  'must be a model name of 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
);

export const OUTPUT_AUDIO_FILENAME = wholeString(
  `(?:[^${CONTROL}/\\\\.]|\\.(?!\\.))+\\.(?:[mM][pP]3|[mM]4[aA]|[wW][aA][vV])`,
  'must be a file name (no "/", backslash, ".." or control characters) ending in .mp3, .m4a or .wav',
);

export const VIDEO_SIZE = wholeString(
  '[1-9][0-9]{1,3}x[1-9][0-9]{1,3}',
  'must be a frame size written WIDTHxHEIGHT, such as 1920x1080',
);
