import { Logger } from '@nestjs/common';
import type { RunPodSettings } from './runpod-settings';

/** RunPod's job states, in the order a job goes through them. */
export type RunPodState = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

/** GET /status/{id} (and POST /run's answer, which has only id and status). */
export interface RunPodStatus {
  id: string;
  status: RunPodState;
  delayTime?: number;
  executionTime?: number;
  output?: unknown;
  error?: unknown;
}

/** GET /health: `{"jobs": {...}, "workers": {...}}`. */
export interface RunPodHealth {
  jobs: Record<string, number>;
  workers: Record<string, number>;
}

/** A call RunPod did not answer with success; `status` is the HTTP status, undefined for network errors. */
export class RunPodCallError extends Error {
  /** From a Retry-After header, capped. */
  retryAfterMs?: number;

  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RunPodCallError';
  }

  /** Worth another try: the network, 429 and 5xx. */
  get transient(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

/** Injects another RunPodClient (a stand-in in unit specs); by default each user builds its own from the settings. */
export const RUNPOD_CLIENT = Symbol('RUNPOD_CLIENT');

const ATTEMPTS = 4;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 8000;

/**
 * RunPod's serverless REST API v2 for one account: POST /run, GET /status, POST /cancel,
 * GET /health. Every call has a deadline; 429 and 5xx (and network failures) are retried with
 * exponential backoff and full jitter, honouring Retry-After when RunPod sends one.
 */
export class RunPodClient {
  private readonly logger = new Logger(RunPodClient.name);

  constructor(
    private readonly settings: RunPodSettings,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  run(endpointId: string, input: Record<string, unknown>, policy: { executionTimeoutMs: number; ttlMs: number }) {
    return this.call<RunPodStatus>('POST', `/${endpointId}/run`, {
      input,
      policy: { executionTimeout: policy.executionTimeoutMs, ttl: policy.ttlMs },
    });
  }

  status(endpointId: string, remoteId: string) {
    return this.call<RunPodStatus>('GET', `/${endpointId}/status/${encodeURIComponent(remoteId)}`);
  }

  cancel(endpointId: string, remoteId: string) {
    return this.call<RunPodStatus>('POST', `/${endpointId}/cancel/${encodeURIComponent(remoteId)}`);
  }

  health(endpointId: string) {
    return this.call<RunPodHealth>('GET', `/${endpointId}/health`);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, body);
      } catch (error) {
        const failure = error instanceof RunPodCallError ? error : new RunPodCallError(String(error));
        if (!failure.transient || attempt >= ATTEMPTS) throw failure;
        const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1));
        const wait = Math.max(failure.retryAfterMs ?? 0, Math.random() * ceiling);
        this.logger.warn(`${failure.message}; retry ${attempt} in ${Math.round(wait)} ms`);
        await this.sleep(wait);
      }
    }
  }

  private async once<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.settings.apiBase}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${this.settings.apiKey}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.httpTimeoutMs),
      });
    } catch (error) {
      // AbortSignal.timeout rejects with a DOMException, which is not an Error in Node 20.
      const timedOut = (error as { name?: unknown } | null)?.name === 'TimeoutError';
      const cause = timedOut ? `no answer within ${this.settings.httpTimeoutMs} ms` : describe(error);
      throw new RunPodCallError(`RunPod ${method} ${routeOf(path)} failed: ${cause}`);
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      const error = new RunPodCallError(
        `RunPod ${method} ${routeOf(path)} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
        response.status,
      );
      error.retryAfterMs = retryAfterMs(response.headers.get('retry-after'));
      throw error;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new RunPodCallError(`RunPod ${method} ${routeOf(path)} answered ${response.status} with a body that is not JSON`, 502);
    }
  }
}

/** The route without the endpoint id, for logs. */
function routeOf(path: string): string {
  return path.replace(/^\/[^/]+/, '');
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, MAX_RETRY_MS) : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
