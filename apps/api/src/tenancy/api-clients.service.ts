import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { timingSafeEqual } from 'node:crypto';
import type { ApiEnv } from '../config/api-env';
import type { ClientIdentity } from './client-identity';
import { ConfiguredClient, clientsOfApiKeys, keyDigest, readKeysFile } from './keys-file';

/**
 * The one place API keys are matched: X_API_KEY's keys (admins `key-0`, `key-1`, …) and
 * API_KEYS_FILE's clients. A presented key is compared, as a SHA-256 digest with timingSafeEqual,
 * against every configured digest without stopping at a match, so neither a key's content nor its
 * length nor its position leaks through response times.
 */
@Injectable()
export class ApiClients {
  private readonly clients: ConfiguredClient[];

  constructor(config: ConfigService<ApiEnv, true>) {
    const file = config.get('API_KEYS_FILE', { infer: true });
    this.clients = [...clientsOfApiKeys(config.get('X_API_KEY', { infer: true })), ...(file ? readKeysFile(file) : [])];
  }

  /** The client a presented key belongs to, or null for a missing or unknown key. */
  identify(presentedKey: unknown): ClientIdentity | null {
    if (typeof presentedKey !== 'string' || presentedKey.length === 0) return null;
    const candidate = keyDigest(presentedKey);
    return this.clients.reduce<ClientIdentity | null>(
      (found, client) => (timingSafeEqual(client.keyDigest, candidate) ? client.identity : found),
      null,
    );
  }

  list(): ClientIdentity[] {
    return this.clients.map((client) => client.identity);
  }

  /** The client of that name, for work done outside a request on a client's behalf. */
  named(name: string): ClientIdentity | undefined {
    return this.clients.find((client) => client.identity.name === name)?.identity;
  }
}
