import type { JobRecord } from '@app/common';
import { AsyncLocalStorage } from 'node:async_hooks';

/** An admin sees and cancels every job and opens the admin pages; a client only its own jobs. */
export type ClientRole = 'admin' | 'client';

/** Per-client limits from API_KEYS_FILE; an absent limit does not apply. */
export interface ClientLimits {
  /** Jobs queued or running at once; past it a 429. */
  max_concurrent_jobs?: number;
  /** Share of the node's slots against other clients with waiting jobs (default 1). */
  weight?: number;
  monthly_gpu_seconds?: number;
  monthly_cost?: number;
}

/** Who a request comes from: the client a presented API key belongs to. Never holds the key. */
export interface ClientIdentity {
  name: string;
  role: ClientRole;
  limits: ClientLimits;
}

/**
 * Who a request is served for when no key was matched: routes open without a key (health, docs)
 * and code running outside any request. It owns nothing and may see nothing but what is public.
 */
export const ANONYMOUS_CLIENT: ClientIdentity = Object.freeze({ name: 'anonymous', role: 'client', limits: Object.freeze({}) });

const requestClients = new AsyncLocalStorage<ClientIdentity>();

/** The identity of the request being served, set by ClientIdentityMiddleware once its key was matched. */
export function currentClient(): ClientIdentity {
  return requestClients.getStore() ?? ANONYMOUS_CLIENT;
}

/** Runs `work` (and everything it awaits) as served for `client`. */
export function runAsClient<T>(client: ClientIdentity, work: () => T): T {
  return requestClients.run(client, work);
}

/**
 * Whether `client` may see a job: an admin sees every job, a client only the jobs it submitted.
 * Jobs without an owner (accepted before identities existed) are an admin's alone.
 */
export function mayAccess(client: ClientIdentity, record: Pick<JobRecord, 'client'>): boolean {
  return client.role === 'admin' || (record.client !== undefined && record.client === client.name);
}
