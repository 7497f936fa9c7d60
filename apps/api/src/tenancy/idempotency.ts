import { REDIS_CLIENT } from '@app/common';
import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NextFunction, Request, Response } from 'express';
import type Redis from 'ioredis';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { ApiEnv } from '../config/api-env';
import { apiError, badRequest } from '../http/error-body';

const requestIdempotencyKeys = new AsyncLocalStorage<string | undefined>();

/** The request's Idempotency-Key header, as sent (checked where a job is accepted). */
export function currentIdempotencyKey(): string | undefined {
  return requestIdempotencyKeys.getStore();
}

/** Remembers the Idempotency-Key header for the rest of the request, wherever a job is accepted from. */
export function idempotencyKeyMiddleware(request: Request, _response: Response, next: NextFunction): void {
  const header = request.headers['idempotency-key'];
  requestIdempotencyKeys.run(typeof header === 'string' ? header : undefined, next);
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** How long a duplicate waits for the first request to finish accepting its job before a 409. */
const PENDING_WAIT_MS = 15_000;
const PENDING_POLL_MS = 50;

/**
 * KEYS[1] the client's entry for one Idempotency-Key: `<fingerprint>|<job id>`, the id empty while
 * the first request is still being accepted. ARGV: fingerprint, TTL (ms). Creates the entry when
 * there is none, atomically, so of concurrent duplicates exactly one accepts a job.
 */
const CLAIM_SCRIPT = `
local entry = redis.call('GET', KEYS[1])
if not entry then
  redis.call('SET', KEYS[1], ARGV[1] .. '|', 'PX', ARGV[2])
  return {'new'}
end
local sep = string.find(entry, '|', 1, true)
if string.sub(entry, 1, sep - 1) ~= ARGV[1] then return {'mismatch'} end
local jobId = string.sub(entry, sep + 1)
if jobId == '' then return {'pending'} end
return {'existing', jobId}
`;

/** KEYS[1] an entry; ARGV[1] its value while pending. Deletes it only if it is still that. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** The outcome of presenting an Idempotency-Key with a submission. */
export type IdempotencyClaim =
  | { kind: 'new'; accepted(jobId: string): Promise<void>; abandoned(): Promise<void> }
  | { kind: 'existing'; jobId: string };

/**
 * Idempotent submissions: the same client, Idempotency-Key and request within IDEMPOTENCY_TTL_HOURS
 * get the job the first request created, and nothing new is queued; the same key with another
 * request is a 422. Entries live in Redis (one per client and key, holding the request's SHA-256
 * fingerprint and the job id), so every API process answers alike.
 */
@Injectable()
export class IdempotentSubmissions {
  private readonly ttlMs: number;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.ttlMs = Math.max(1, Math.round(config.get('IDEMPOTENCY_TTL_HOURS', { infer: true }) * 3_600_000));
  }

  /** The request's Idempotency-Key, checked (400 naming the header); undefined when it has none. */
  keyOfRequest(): string | undefined {
    const key = currentIdempotencyKey();
    if (key === undefined) return undefined;
    if (!KEY_PATTERN.test(key)) {
      throw badRequest('Idempotency-Key must be 1 to 255 printable ASCII characters without spaces', { field: 'Idempotency-Key' });
    }
    return key;
  }

  /**
   * Claims `key` for this request of `client`. A first request gets `new` and must say whether its
   * job was accepted; a duplicate gets the first one's job (waiting while the first is still being
   * accepted); the same key with another request is a 422.
   */
  async claim(client: string, key: string, request: unknown): Promise<IdempotencyClaim> {
    const entryKey = `api-gpu:idempotency:${client}:${createHash('sha256').update(key).digest('hex')}`;
    const fingerprint = fingerprintOf(request);
    const waitUntil = Date.now() + PENDING_WAIT_MS;
    for (;;) {
      const [kind, jobId] = (await this.redis.eval(CLAIM_SCRIPT, 1, entryKey, fingerprint, String(this.ttlMs))) as [string, string?];
      if (kind === 'new') {
        return {
          kind,
          accepted: async (id) => {
            await this.redis.set(entryKey, `${fingerprint}|${id}`, 'KEEPTTL', 'XX');
          },
          abandoned: async () => {
            await this.redis.eval(RELEASE_SCRIPT, 1, entryKey, `${fingerprint}|`);
          },
        };
      }
      if (kind === 'existing') return { kind, jobId: jobId! };
      if (kind === 'mismatch') {
        throw apiError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'This Idempotency-Key was already used with a different request; use a new key for a new request',
          { field: 'Idempotency-Key' },
        );
      }
      if (Date.now() > waitUntil) {
        throw apiError(HttpStatus.CONFLICT, 'A request with this Idempotency-Key is still being accepted; retry shortly', {
          field: 'Idempotency-Key',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, PENDING_POLL_MS));
    }
  }

  /** Forgets an entry whose job no longer exists (its record expired), so the key starts afresh. */
  async forget(client: string, key: string): Promise<void> {
    await this.redis.del(`api-gpu:idempotency:${client}:${createHash('sha256').update(key).digest('hex')}`);
  }
}

/** SHA-256 of the request as JSON with its object keys sorted, so the order fields came in does not matter. */
export function fingerprintOf(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, field]) => `${JSON.stringify(name)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
