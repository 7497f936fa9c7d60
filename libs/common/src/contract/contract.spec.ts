import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as contract from '.';
import {
  CaptionFont,
  CaptionJobInput,
  MAX_IMG2VID_IMAGES,
  buildJobContractSchema,
  renderJobContractSchema,
  validateJobInput,
} from '.';

const CONTRACT_DIR = resolve(__dirname, '../../contract');
const SCHEMA_FILE = join(CONTRACT_DIR, 'job-contract.schema.json');
const FIXTURES_DIR = join(CONTRACT_DIR, 'fixtures');

interface Fixture {
  name: string;
  description: string;
  operation: string;
  input: unknown;
  valid: boolean;
  field?: string;
}

function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const fixture = { name: file, ...JSON.parse(readFileSync(join(FIXTURES_DIR, file), 'utf8')) };
      const wellFormed =
        typeof fixture.description === 'string' &&
        typeof fixture.operation === 'string' &&
        'input' in fixture &&
        (fixture.valid === true
          ? fixture.field === undefined
          : fixture.valid === false && typeof fixture.field === 'string');
      if (!wellFormed) throw new Error(`${file}: not a {description, operation, input, valid, field} fixture`);
      return fixture as Fixture;
    });
}

const fixtures = loadFixtures();

const image = (n: number) => ({
  id: `img-${n}`,
  image_url: `https://example.com/${n}.jpg`,
  duracao: 1,
});

describe('job contract fixtures', () => {
  it('has at least 40 fixtures, 10 of them valid', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40);
    expect(fixtures.filter((f) => f.valid).length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
    const result = validateJobInput(fixture.operation, fixture.input);
    if (fixture.valid) {
      expect(result).toEqual({ ok: true, value: expect.anything() });
      return;
    }
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.map((e) => e.field)).toEqual([fixture.field]);
    expect(errors[0].message).toContain(fixture.field);
  });
});

describe('validateJobInput', () => {
  it('accepts the most images a job may carry and refuses one more, on images itself', () => {
    const images = Array.from({ length: MAX_IMG2VID_IMAGES + 1 }, (_, i) => image(i + 1));
    const path = 'Project/videos/temp/';
    expect(validateJobInput('img2vid', { images: images.slice(0, -1), path }).ok).toBe(true);
    const tooMany = validateJobInput('img2vid', { images, path });
    expect(tooMany.ok ? [] : tooMany.errors.map((e) => e.field)).toEqual(['images']);
  });

  it('returns class instances, nested ones included', () => {
    const result = validateJobInput('caption', {
      url_video: 'https://example.com/v.mp4',
      url_srt: 'https://example.com/s.srt',
      path: 'p/',
      output_filename: 'o.mp4',
      style: { font: { size: 30 } },
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.value).toBeInstanceOf(CaptionJobInput);
    expect(result.value.style?.font).toBeInstanceOf(CaptionFont);
  });

  it('refuses an input that is not an object, on the input itself', () => {
    for (const plain of [null, [], 'caption', 5]) {
      const result = validateJobInput('caption', plain);
      expect(result.ok ? [] : result.errors.map((e) => e.field)).toEqual(['']);
    }
  });

  it('reports every offending field, each message naming its field and not its value', () => {
    const result = validateJobInput('img2vid', {
      images: [{ ...image(1), image_url: 'ftp://user:hunter2@example.com/1.jpg' }, image(2)],
      path: '../up/',
      extra: true,
    });
    expect(result.ok ? [] : result.errors.map((e) => e.field).sort()).toEqual([
      'extra',
      'images[0].image_url',
      'path',
    ]);
    for (const error of result.ok ? [] : result.errors) {
      expect(error.message.startsWith(error.field)).toBe(true);
      expect(error.message).not.toContain('hunter2');
    }
  });
});

describe('transcription language', () => {
  const input = { audio_url: 'https://example.com/a.mp3', path: 'out/' };

  it.each([
    ['pt-BR', 'pt'],
    ['pt_br', 'pt'],
    ['PT', 'pt'],
    [' en-US ', 'en'],
    ['zh-Hant-TW', 'zh'],
    ['haw', 'haw'],
    [null, undefined],
    ['', undefined],
    ['pt-', 'pt-'],
    [42, 42],
  ])('a request reads %p as %p', (language, expected) => {
    expect(contract.normalizeLanguage(language)).toBe(expected);
  });

  it.each([['xx'], ['PT'], ['pt-BR']])('the job contract refuses %p, naming language', (language) => {
    const checked = contract.validateJobInput(contract.JobOperation.Transcribe, { ...input, language });
    expect(checked.ok ? [] : checked.errors.map((e) => e.field)).toEqual(['language']);
  });
});

describe('job contract schema', () => {
  it('is checked in as generated from the classes (if not, run `npm run schema:generate`)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(renderJobContractSchema());
  });

  it('refuses unknown properties in every definition', () => {
    const { definitions } = buildJobContractSchema();
    for (const [name, definition] of Object.entries(definitions)) {
      expect([name, definition]).toEqual([name, expect.objectContaining({ additionalProperties: false })]);
    }
  });

  it('has a definition property for every field the classes declare', () => {
    const { definitions } = buildJobContractSchema();
    const classes = Object.values(contract).filter(
      (value): value is new () => object => typeof value === 'function' && value.name in definitions,
    );
    expect(classes.map((cls) => cls.name).sort()).toEqual(Object.keys(definitions).sort());
    for (const cls of classes) {
      const { properties } = definitions[cls.name] as { properties: object };
      expect([cls.name, Object.keys(properties).sort()]).toEqual([
        cls.name,
        Object.keys(new cls()).sort(),
      ]);
    }
  });
});
