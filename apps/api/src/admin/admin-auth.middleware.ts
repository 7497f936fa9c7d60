import type { NextFunction, Request, Response } from 'express';
import { ApiClients } from '../tenancy/api-clients.service';
import { presentedKey } from '../tenancy/presented-key';

const REALM = 'Basic realm="api-gpu admin", charset="UTF-8"';

/**
 * The admin pages accept an admin's API key (X-API-Key, Bearer, or the password of HTTP basic auth
 * with any user name, so a browser can open them). No key or an unknown one is the contract's 401;
 * a client's key is a 403: the pages show every client's jobs.
 */
export function adminAuthMiddleware(clients: ApiClients) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const client = clients.identify(presentedKey(req.headers)) ?? clients.identify(basicPassword(req.headers.authorization));
    if (client?.role === 'admin') {
      next();
      return;
    }
    if (client) {
      res.status(403).json({ error: 'Forbidden', message: `The admin pages need an admin API key; client ${client.name} is not one` });
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
