import type { IncomingHttpHeaders } from 'node:http';

/**
 * The key a request presents: X-API-Key, or `Authorization: Bearer <key>` as OpenAI's clients send
 * it. X-API-Key wins when both are there. A key in the query string is deliberately not read: URLs
 * end up in logs.
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-api-key'];
  if (typeof header === 'string') return header;
  const bearer = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '');
  return bearer?.[1];
}
