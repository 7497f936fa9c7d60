import { USAGE_METRICS, UsageGrouping, UsageQuery, UsageReport } from '@app/common';
import { badRequest } from '../http/error-body';

export const USAGE_GROUPINGS: readonly UsageGrouping[] = ['day', 'operation', 'executor', 'client'];
export const USAGE_FORMATS = ['json', 'csv'] as const;
export type UsageFormat = (typeof USAGE_FORMATS)[number];

/** A range longer than this is refused: nothing older than USAGE_RETENTION_DAYS is kept anyway. */
export const MAX_RANGE_DAYS = 3660;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** GET /usage's query string as it arrives (Express leaves repeated parameters as arrays). */
export interface UsageQueryString {
  from?: unknown;
  to?: unknown;
  client?: unknown;
  group_by?: unknown;
  format?: unknown;
}

/**
 * The query, checked: `from` and `to` are days (YYYY-MM-DD, UTC, both included; by default the
 * first day of the current month and today), `group_by` one of the groupings, `format` json or
 * csv. A bad one is a 400 naming it.
 */
export function parseUsageQuery(query: UsageQueryString, now = new Date()): Omit<UsageQuery, 'client'> & { client?: string } {
  const today = now.toISOString().slice(0, 10);
  const from = day(query.from, 'from') ?? `${today.slice(0, 7)}-01`;
  const to = day(query.to, 'to') ?? today;
  if (from > to) throw badRequest(`from (${from}) must not be after to (${to})`, { field: 'from' });
  if ((Date.parse(to) - Date.parse(from)) / DAY_MS + 1 > MAX_RANGE_DAYS) {
    throw badRequest(`from and to span more than ${MAX_RANGE_DAYS} days`, { field: 'from' });
  }
  const groupBy = single(query.group_by, 'group_by');
  if (groupBy !== undefined && !USAGE_GROUPINGS.includes(groupBy as UsageGrouping)) {
    throw badRequest(`group_by must be one of ${USAGE_GROUPINGS.join(', ')}`, { field: 'group_by' });
  }
  const client = single(query.client, 'client');
  return { from, to, ...(client !== undefined ? { client } : {}), ...(groupBy ? { groupBy: groupBy as UsageGrouping } : {}) };
}

/** CSV when `format=csv`, or without `format` when the client accepts text/csv and not JSON first. */
export function usageFormat(format: unknown, accept: string | undefined): UsageFormat {
  const asked = single(format, 'format');
  if (asked !== undefined) {
    if (!USAGE_FORMATS.includes(asked as UsageFormat)) throw badRequest(`format must be one of ${USAGE_FORMATS.join(', ')}`, { field: 'format' });
    return asked as UsageFormat;
  }
  const types = (accept ?? '').split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  const csv = types.indexOf('text/csv');
  const json = types.indexOf('application/json');
  return csv >= 0 && (json < 0 || csv < json) ? 'csv' : 'json';
}

/** The JSON answer: the query as understood, the totals, and one row per group named by its grouping. */
export function usageBody(query: UsageQuery, report: UsageReport) {
  return {
    from: query.from,
    to: query.to,
    client: query.client ?? null,
    group_by: query.groupBy ?? null,
    totals: report.totals,
    groups: query.groupBy ? report.groups.map((group) => ({ [query.groupBy!]: group.key, ...group.figures })) : [],
  };
}

/** The CSV answer: a header, then one line per group, or one line of totals without a grouping. */
export function usageCsv(query: UsageQuery, report: UsageReport): string {
  const keyColumn = query.groupBy ? [query.groupBy] : [];
  const header = ['from', 'to', 'client', ...keyColumn, ...USAGE_METRICS];
  const rows = query.groupBy
    ? report.groups.map((group) => [query.from, query.to, query.client ?? '', group.key, ...USAGE_METRICS.map((metric) => group.figures[metric])])
    : [[query.from, query.to, query.client ?? '', ...USAGE_METRICS.map((metric) => report.totals[metric])]];
  return [header, ...rows].map((row) => row.map((cell) => csvCell(String(cell))).join(',')).join('\r\n') + '\r\n';
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function single(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be given once`, { field });
  return value;
}

function day(value: unknown, field: string): string | undefined {
  const text = single(value, field);
  if (text === undefined) return undefined;
  const at = Date.parse(`${text}T00:00:00Z`);
  const valid = DAY.test(text) && Number.isFinite(at) && new Date(at).toISOString().slice(0, 10) === text;
  if (!valid) throw badRequest(`${field} must be a day as YYYY-MM-DD (UTC), e.g. 2026-12-01`, { field });
  return text;
}
