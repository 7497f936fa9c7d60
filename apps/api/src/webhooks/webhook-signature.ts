import { createHmac } from 'node:crypto';

/**
 * The `X-Signature` value of a webhook: HMAC-SHA256 over "<timestamp>.<raw body>" with
 * WEBHOOK_SECRET, hex, prefixed "sha256=". The timestamp is inside the signed text so a receiver
 * that checks its age can refuse a replayed delivery.
 */
export function webhookSignature(secret: string, timestampS: number, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampS}.${rawBody}`).digest('hex')}`;
}
