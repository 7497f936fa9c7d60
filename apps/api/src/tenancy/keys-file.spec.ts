import { InvalidConfigurationError } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClients } from './api-clients.service';
import { parseKeysFile, plainKeysInFile } from './keys-file';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

function problemsOf(text: string): string[] {
  try {
    parseKeysFile(text, 'keys.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    return (error as InvalidConfigurationError).problems;
  }
  throw new Error('expected the keys file to be refused');
}

describe('API_KEYS_FILE', () => {
  it('reads YAML clients with plain or hashed keys, roles and limits', () => {
    const clients = parseKeysFile(
      [
        'clients:',
        '  - name: acme',
        `    key_sha256: ${sha256('acme-secret')}`,
        '    limits: { max_concurrent_jobs: 4, weight: 2.5, monthly_gpu_seconds: 3600, monthly_cost: 12.5 }',
        '  - name: ops',
        '    role: admin',
        '    key: ops-secret',
      ].join('\n'),
      'keys.yaml',
    );
    expect(clients.map((client) => client.identity)).toEqual([
      { name: 'acme', role: 'client', limits: { max_concurrent_jobs: 4, weight: 2.5, monthly_gpu_seconds: 3600, monthly_cost: 12.5 } },
      { name: 'ops', role: 'admin', limits: {} },
    ]);
  });

  it('reads the same from JSON', () => {
    const clients = parseKeysFile(JSON.stringify({ clients: [{ name: 'acme', role: 'client', key: 'k1' }] }), 'keys.json');
    expect(clients.map((client) => client.identity.name)).toEqual(['acme']);
  });

  it.each([
    ['no clients', 'clients: []', 'non-empty list `clients`'],
    ['not YAML', 'clients: [ {', 'neither valid YAML nor JSON'],
    ['a bad name', 'clients: [{ name: "a b", key: k }]', 'clients[0] (a b): name must be'],
    ['an X_API_KEY name', 'clients: [{ name: key-0, key: k }]', 'clients[0] (key-0): names key-0'],
    ['a bad role', 'clients: [{ name: a, role: root, key: k }]', 'clients[0] (a): role must be admin or client'],
    ['both key forms', `clients: [{ name: a, key: k, key_sha256: ${sha256('k')} }]`, 'exactly one of key and key_sha256'],
    ['no key', 'clients: [{ name: a }]', 'exactly one of key and key_sha256'],
    ['a short hash', 'clients: [{ name: a, key_sha256: abc }]', 'key_sha256 must be the 64 hex digits'],
    ['a misspelt limit', 'clients: [{ name: a, key: k, limits: { max_concurent_jobs: 2 } }]', 'unknown limit max_concurent_jobs'],
    ['a fractional job limit', 'clients: [{ name: a, key: k, limits: { max_concurrent_jobs: 1.5 } }]', 'limits.max_concurrent_jobs must be a positive integer'],
    ['a zero weight', 'clients: [{ name: a, key: k, limits: { weight: 0 } }]', 'limits.weight must be a positive number'],
    ['an unknown field', 'clients: [{ name: a, key: k, secret: x }]', 'unknown field secret'],
    ['a repeated name', 'clients: [{ name: a, key: k1 }, { name: a, key: k2 }]', 'the name a is used more than once'],
    ['a repeated key', `clients: [{ name: a, key: k1 }, { name: b, key_sha256: ${sha256('k1')} }]`, '(b): its key is also another client'],
  ])('refuses %s, naming the file and the entry', (_case, text, expected) => {
    const problems = problemsOf(text);
    expect(problems.join('\n')).toContain(expected);
    expect(problems.every((problem) => problem.startsWith('API_KEYS_FILE (keys.yaml)'))).toBe(true);
  });

  it('never repeats a key in its messages', () => {
    const problems = problemsOf('clients: [{ name: a, key: "the secret key", limits: 3 }]\n  key: "the-other-secret: [');
    expect(problems.join('\n')).not.toMatch(/secret/);
  });
});

describe('plainKeysInFile', () => {
  it('gives the keys written as they are, for the log scrubber, and never a hash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-gpu-keys-'));
    try {
      const path = join(dir, 'keys.yaml');
      writeFileSync(path, `clients:\n  - {name: acme, key: acme-plain-key}\n  - {name: zeta, key_sha256: ${'ab'.repeat(32)}}\n`);
      expect(plainKeysInFile(path)).toEqual(['acme-plain-key']);
      expect(plainKeysInFile(join(dir, 'missing.yaml'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ApiClients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-gpu-keys-'));
  const file = join(dir, 'keys.yaml');
  writeFileSync(
    file,
    ['clients:', '  - name: acme', `    key_sha256: ${sha256('acme-secret')}`, '  - name: ops', '    role: admin', '    key: ops-secret'].join('\n'),
  );
  const env: Record<string, string> = { X_API_KEY: 'first-key, second-key', API_KEYS_FILE: file };
  const clients = new ApiClients({ get: (name: string) => env[name] } as unknown as ConfigService<never, true>);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names X_API_KEY's keys key-<index>, admins, beside the file's clients", () => {
    expect(clients.list().map(({ name, role }) => `${name}:${role}`)).toEqual(['key-0:admin', 'key-1:admin', 'acme:client', 'ops:admin']);
  });

  it('identifies a key by its digest, plain or hashed in the file', () => {
    expect(clients.identify('second-key')?.name).toBe('key-1');
    expect(clients.identify('acme-secret')).toEqual({ name: 'acme', role: 'client', limits: {} });
    expect(clients.identify('ops-secret')?.role).toBe('admin');
  });

  it.each([['an unknown key', 'acme'], ['the hash itself', sha256('acme-secret')], ['an empty key', ''], ['no key', undefined]])(
    'identifies no one for %s',
    (_case, key) => {
      expect(clients.identify(key)).toBeNull();
    },
  );
});
