import { InvalidConfigurationError } from '@app/common';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ClientIdentity, ClientLimits, ClientRole } from './client-identity';

/** A client as configured: its identity and the SHA-256 digest of its key (the key itself is not kept). */
export interface ConfiguredClient {
  identity: ClientIdentity;
  keyDigest: Buffer;
}

export const keyDigest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ROLES: readonly ClientRole[] = ['admin', 'client'];
const ENTRY_FIELDS = new Set(['name', 'role', 'key', 'key_sha256', 'limits']);
const LIMIT_FIELDS: Record<keyof ClientLimits, { integer: boolean }> = {
  max_concurrent_jobs: { integer: true },
  weight: { integer: false },
  monthly_gpu_seconds: { integer: false },
  monthly_cost: { integer: false },
};

/**
 * X_API_KEY's keys (comma-separated), each an admin named `key-<index>`: the service's keys before
 * API_KEYS_FILE existed, which keep seeing every job.
 */
export function clientsOfApiKeys(commaSeparatedKeys: string): ConfiguredClient[] {
  return commaSeparatedKeys
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0)
    .map((key, index) => ({
      identity: Object.freeze({ name: `key-${index}`, role: 'admin' as const, limits: Object.freeze({}) }),
      keyDigest: keyDigest(key),
    }));
}

/** Reads and checks API_KEYS_FILE; every problem is an InvalidConfigurationError naming the file and the entry. */
export function readKeysFile(path: string): ConfiguredClient[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidConfigurationError([`API_KEYS_FILE (${path}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`]);
  }
  return parseKeysFile(text, path);
}

/**
 * The keys a keys file holds as they are (`key:`, not `key_sha256:`), for the log scrubber to hide.
 * A file that cannot be read or parsed gives none: the API refuses to start with it anyway.
 */
export function plainKeysInFile(path: string): string[] {
  try {
    const entries = (parseYaml(readFileSync(path, 'utf8')) as { clients?: unknown } | null)?.clients;
    if (!Array.isArray(entries)) return [];
    return entries.flatMap((entry: unknown) => (isRecord(entry) && typeof entry.key === 'string' ? [entry.key] : []));
  } catch {
    return [];
  }
}

/**
 * The clients of a keys file, JSON or YAML (JSON is YAML):
 *
 *     clients:
 *       - name: acme
 *         role: client            # or admin; client when absent
 *         key_sha256: 9f86d0…     # or key: the key itself
 *         limits: { max_concurrent_jobs: 4, weight: 2, monthly_gpu_seconds: 36000, monthly_cost: 50 }
 *
 * Problems are reported all at once, naming the entry by its position and name; a key's value is
 * never part of a message.
 */
export function parseKeysFile(text: string, source: string): ConfiguredClient[] {
  const where = `API_KEYS_FILE (${source})`;
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    // The parser's message quotes the offending line, which may hold a key: name the position only.
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new InvalidConfigurationError([`${where} is neither valid YAML nor JSON${line ? ` (line ${line})` : ''}`]);
  }
  const entries = (document as { clients?: unknown } | null)?.clients;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new InvalidConfigurationError([`${where} must have a non-empty list \`clients\``]);
  }
  const problems: string[] = [];
  const clients: ConfiguredClient[] = [];
  entries.forEach((entry: unknown, index) => {
    const label = `${where} clients[${index}]${isRecord(entry) && typeof entry.name === 'string' ? ` (${entry.name})` : ''}`;
    const entryProblems: string[] = [];
    const client = parseEntry(entry, (problem) => entryProblems.push(`${label}: ${problem}`));
    if (entryProblems.length > 0) problems.push(...entryProblems);
    else if (client) clients.push(client);
  });
  const names = new Set<string>();
  const digests = new Set<string>();
  for (const { identity, keyDigest: digest } of clients) {
    if (names.has(identity.name)) problems.push(`${where}: the name ${identity.name} is used more than once`);
    if (digests.has(digest.toString('hex'))) problems.push(`${where} (${identity.name}): its key is also another client's`);
    names.add(identity.name);
    digests.add(digest.toString('hex'));
  }
  if (problems.length > 0) throw new InvalidConfigurationError(problems);
  return clients;
}

/** One entry of the file; its problems go to `problem`, and an entry with any is not used. */
function parseEntry(entry: unknown, problem: (message: string) => void): ConfiguredClient | null {
  if (!isRecord(entry)) {
    problem('must be a mapping with name, role, key or key_sha256, and limits');
    return null;
  }
  for (const field of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(field)) problem(`unknown field ${field} (expected name, role, key, key_sha256, limits)`);
  }
  const { name, role = 'client', key, key_sha256: hashed } = entry;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    problem('name must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit');
  } else if (/^key-\d+$/.test(name)) {
    problem('names key-0, key-1, … are X_API_KEY\'s keys; choose another');
  }
  if (!ROLES.includes(role as ClientRole)) problem('role must be admin or client');
  let digest: Buffer | null = null;
  if ((key === undefined) === (hashed === undefined)) {
    problem('needs exactly one of key and key_sha256');
  } else if (key !== undefined) {
    if (typeof key !== 'string' || key.length === 0 || /[\s,]/.test(key)) problem('key must be a non-empty string without spaces or commas');
    else digest = keyDigest(key);
  } else if (typeof hashed !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hashed)) {
    problem('key_sha256 must be the 64 hex digits of the key\'s SHA-256');
  } else {
    digest = Buffer.from(hashed, 'hex');
  }
  const limits = parseLimits(entry.limits, problem);
  if (!digest || !limits) return null;
  return {
    identity: Object.freeze({ name: name as string, role: role as ClientRole, limits: Object.freeze(limits) }),
    keyDigest: digest,
  };
}

function parseLimits(value: unknown, problem: (message: string) => void): ClientLimits | null {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) {
    problem('limits must be a mapping');
    return null;
  }
  const limits: ClientLimits = {};
  for (const [field, figure] of Object.entries(value)) {
    const rule = LIMIT_FIELDS[field as keyof ClientLimits] as { integer: boolean } | undefined;
    if (!rule) {
      problem(`unknown limit ${field} (expected ${Object.keys(LIMIT_FIELDS).join(', ')})`);
    } else if (typeof figure !== 'number' || !Number.isFinite(figure) || figure <= 0 || (rule.integer && !Number.isInteger(figure))) {
      problem(`limits.${field} must be a positive ${rule.integer ? 'integer' : 'number'}`);
    } else {
      limits[field as keyof ClientLimits] = figure;
    }
  }
  return limits;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
