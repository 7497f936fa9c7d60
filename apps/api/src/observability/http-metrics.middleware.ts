import type { NextFunction, Request, Response } from 'express';
import { ApiMetrics } from './api-metrics';

/** Bull Board serves many asset and API paths of its own; they count as one route. */
const ADMIN_PREFIX = '/admin/queues';

/**
 * Counts and times every answer, errors from guards and the body parser included, labelled with
 * the route pattern (`/job/:jobId`), never the raw path: raw paths would grow without bound.
 */
export function httpMetricsMiddleware(metrics: ApiMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const stop = metrics.httpDuration.startTimer();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeOf(req), status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      stop(labels);
    });
    next();
  };
}

function routeOf(req: Request): string {
  if (req.originalUrl.startsWith(ADMIN_PREFIX)) return ADMIN_PREFIX;
  const pattern: unknown = (req.route as { path?: unknown } | undefined)?.path;
  // Nest answers unknown paths from a catch-all route of its own (`/{*path}`, `{/*splat}` since 12).
  return typeof pattern === 'string' && !pattern.includes('*') ? pattern : 'unmatched';
}
