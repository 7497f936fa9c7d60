import type { NextFunction, Request, Response } from 'express';
import { ApiKeys } from '../security/api-keys';

const REALM = 'Basic realm="api-gpu admin", charset="UTF-8"';

/**
 * The admin pages accept the API key in the X-API-Key header, or as the password of HTTP basic
 * auth (any user name) so a browser can open them; anything else is the contract's 401.
 */
export function adminAuthMiddleware(keys: ApiKeys) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (keys.matches(req.headers['x-api-key']) || keys.matches(basicPassword(req.headers.authorization))) {
      next();
      return;
    }
    res
      .status(401)
      .setHeader('WWW-Authenticate', REALM)
      .json({ error: 'Unauthorized', message: 'Invalid or missing API key' });
  };
}

function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}
