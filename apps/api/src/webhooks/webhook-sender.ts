import { UnresolvableHostError, UnsafeUrlError, assertPublicUrl, guardedLookup, errorReason } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { WEBHOOK_SETTINGS, WebhookSettings } from './webhook-settings';
import { webhookSignature } from './webhook-signature';

const FIELD = 'webhook_url';

/** A delivery that did not reach a 2xx; `retryable` false when trying again cannot help. */
export class WebhookDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'WebhookDeliveryError';
  }
}

/**
 * POSTs one signed webhook. The URL is checked again at delivery (the allowlist or DNS may have
 * changed since submission) and the connection goes only to the addresses that check accepted;
 * redirects are not followed, since a redirect could lead anywhere, private addresses included.
 */
@Injectable()
export class WebhookSender {
  constructor(@Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings) {}

  async send(url: string, body: unknown): Promise<void> {
    const secret = this.settings.secret;
    if (!secret) throw new WebhookDeliveryError('WEBHOOK_SECRET is not configured', false);
    const guard = { allowlist: this.settings.allowlist };
    try {
      await assertPublicUrl(url, FIELD, guard);
    } catch (error) {
      throw asDeliveryError(error);
    }
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new WebhookDeliveryError(`${FIELD} must be an http or https URL`, false);
    }
    const rawBody = JSON.stringify(body);
    const timestampS = Math.floor(Date.now() / 1000);
    const port = target.port || (target.protocol === 'https:' ? '443' : '80');
    const status = await post(target, rawBody, {
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': String(Buffer.byteLength(rawBody)),
        'User-Agent': 'api-gpu-webhook',
        'X-Webhook-Timestamp': String(timestampS),
        'X-Signature': webhookSignature(secret, timestampS, rawBody),
      },
      lookup: guardedLookup(FIELD, port, guard),
      timeoutMs: this.settings.timeoutMs,
    });
    if (status >= 300 && status < 400) {
      throw new WebhookDeliveryError(`the receiver answered ${status}; redirects are not followed`, true);
    }
    if (status < 200 || status >= 300) throw new WebhookDeliveryError(`the receiver answered ${status}`, true);
  }
}

interface PostOptions {
  headers: Record<string, string>;
  lookup: ReturnType<typeof guardedLookup>;
  timeoutMs: number;
}

/** The status the receiver answered; its body is read and dropped. */
function post(target: URL, rawBody: string, options: PostOptions): Promise<number> {
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // A fresh connection each time (agent: false), so every delivery goes through the lookup check.
    const outgoing = send(target, { method: 'POST', agent: false, headers: options.headers, lookup: options.lookup });
    const timer = setTimeout(
      () => outgoing.destroy(new WebhookDeliveryError(`no answer within ${options.timeoutMs} ms`, true)),
      options.timeoutMs,
    );
    outgoing.on('response', (response) => {
      response.resume();
      response.on('end', () => {
        clearTimeout(timer);
        resolve(response.statusCode ?? 0);
      });
      response.on('error', (error) => {
        clearTimeout(timer);
        reject(asDeliveryError(error));
      });
    });
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      reject(asDeliveryError(error));
    });
    outgoing.end(rawBody);
  });
}

function asDeliveryError(error: unknown): WebhookDeliveryError {
  if (error instanceof WebhookDeliveryError) return error;
  if (error instanceof UnresolvableHostError) return new WebhookDeliveryError(error.message, true);
  if (error instanceof UnsafeUrlError) return new WebhookDeliveryError(error.message, false);
  const code = (error as NodeJS.ErrnoException).code;
  const message = errorReason(error);
  return new WebhookDeliveryError(code ? `connection failed (${code})` : `connection failed: ${message}`, true);
}
