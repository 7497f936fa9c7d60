import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

/** Pages that run their own inline scripts and styles (Swagger UI, Bull Board). */
const BROWSER_UI_PREFIXES = ['/docs', '/admin/'];

/**
 * Helmet's security headers on every answer. The JSON API gets helmet's strict content security
 * policy; the two browser UIs get the same headers without it, since both rely on inline code.
 */
export function useSecurityHeaders(app: INestApplication): void {
  const strict = helmet();
  const forBrowserUi = helmet({ contentSecurityPolicy: false });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const isBrowserUi = BROWSER_UI_PREFIXES.some((prefix) => req.path.startsWith(prefix));
    return (isBrowserUi ? forBrowserUi : strict)(req, res, next);
  });
}
