import { createHash, timingSafeEqual } from 'node:crypto';

import type { IncomingHttpHeaders } from 'node:http';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * The configured API keys (X_API_KEY, comma-separated), matched as SHA-256 digests with
 * timingSafeEqual so neither a key's content nor its length leaks through response times.
 */
export class ApiKeys {
  private readonly keyDigests: Buffer[];

  constructor(commaSeparatedKeys: string) {
    this.keyDigests = commaSeparatedKeys
      .split(',')
      .map((key) => key.trim())
      .filter((key) => key.length > 0)
      .map(digest);
  }

  /** A stable, non-secret name for a configured key (for rate-limit buckets), or null for any other string. */
  idOf(candidate: unknown): string | null {
    if (typeof candidate !== 'string' || candidate.length === 0) return null;
    const candidateDigest = digest(candidate);
    const index = this.keyDigests.reduce(
      (found, keyDigest, i) => (timingSafeEqual(keyDigest, candidateDigest) ? i : found),
      -1,
    );
    return index === -1 ? null : `key-${index}`;
  }

  matches(candidate: unknown): boolean {
    return this.idOf(candidate) !== null;
  }
}

/**
 * The key a request presents: X-API-Key, or `Authorization: Bearer <key>` as OpenAI's clients send
 * it. X-API-Key wins when both are there.
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-api-key'];
  if (typeof header === 'string') return header;
  const bearer = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '');
  return bearer?.[1];
}
