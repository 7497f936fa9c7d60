import { UsageLedger, UsageReport, emptyFigures } from '@app/common';
import { HttpException } from '@nestjs/common';
import { RetryLaterError } from '../http/error-body';
import type { ClientIdentity } from '../tenancy/client-identity';
import { parseUsageQuery, usageCsv, usageFormat } from './usage-query';
import { UsageService } from './usage.service';

const ACME: ClientIdentity = { name: 'acme', role: 'client', limits: { monthly_gpu_seconds: 100, monthly_cost: 2 } };
const ADMIN: ClientIdentity = { name: 'key-0', role: 'admin', limits: {} };

function errorOf(run: () => unknown): { status: number; body: Record<string, unknown> } {
  try {
    run();
  } catch (error) {
    const http = error as HttpException;
    return { status: http.getStatus(), body: http.getResponse() as Record<string, unknown> };
  }
  throw new Error('no error thrown');
}

describe('GET /usage query', () => {
  const now = new Date('2026-12-05T12:00:00Z');

  it('defaults to this month so far, and takes days, a grouping and a client', () => {
    expect(parseUsageQuery({}, now)).toEqual({ from: '2026-12-01', to: '2026-12-05' });
    expect(parseUsageQuery({ from: '2026-11-01', to: '2026-11-30', group_by: 'executor', client: 'acme' }, now)).toEqual({
      from: '2026-11-01',
      to: '2026-11-30',
      client: 'acme',
      groupBy: 'executor',
    });
  });

  it.each([
    [{ from: '2026-02-30' }, 'from'],
    [{ to: 'yesterday' }, 'to'],
    [{ from: '2026-12-05', to: '2026-12-01' }, 'from'],
    [{ group_by: 'week' }, 'group_by'],
    [{ client: ['a', 'b'] }, 'client'],
    [{ from: '2000-01-01', to: '2026-01-01' }, 'from'],
  ])('%j is a 400 naming %s', (query, field) => {
    const { status, body } = errorOf(() => parseUsageQuery(query, now));
    expect(status).toBe(400);
    expect(body).toEqual(expect.objectContaining({ error: 'Bad Request', field, message: expect.stringContaining(field) }));
  });

  it('answers CSV for format=csv or Accept: text/csv, JSON otherwise; another format is a 400', () => {
    expect(usageFormat('csv', undefined)).toBe('csv');
    expect(usageFormat(undefined, 'text/csv')).toBe('csv');
    expect(usageFormat(undefined, 'application/json, text/csv')).toBe('json');
    expect(usageFormat(undefined, '*/*')).toBe('json');
    expect(errorOf(() => usageFormat('xml', undefined)).body).toEqual(expect.objectContaining({ field: 'format' }));
  });

  it('writes one CSV line per group under a header, quoting what needs it', () => {
    const figures = { ...emptyFigures(), jobs: 2, gpu_seconds: 1.5 };
    const csv = usageCsv(
      { from: '2026-12-01', to: '2026-12-05', client: 'a,b', groupBy: 'operation' },
      { totals: figures, groups: [{ key: 'caption', figures }] },
    );
    const [header, row] = csv.trimEnd().split('\r\n');
    expect(header.split(',').slice(0, 6)).toEqual(['from', 'to', 'client', 'operation', 'jobs', 'completed']);
    expect(row.startsWith('2026-12-01,2026-12-05,"a,b",caption,2,0,')).toBe(true);
    expect(row.split(',').at(-2)).toBe('1.5');
  });
});

describe('UsageService', () => {
  const report: UsageReport = { totals: emptyFigures(), groups: [] };
  let spent = { gpu_seconds: 0, cost: 0 };
  const queries: unknown[] = [];
  const ledger = {
    report: (query: unknown) => {
      queries.push(query);
      return Promise.resolve(report);
    },
    monthSpent: () => Promise.resolve(spent),
  } as unknown as UsageLedger;
  const service = new UsageService(ledger);

  it('shows a client its own usage only, and an admin anyone', async () => {
    await service.report({}, ACME);
    await service.report({ client: 'acme' }, ACME);
    await service.report({ client: 'zeta' }, ADMIN);
    await service.report({}, ADMIN);
    expect(queries.map((query) => (query as { client?: string }).client)).toEqual(['acme', 'acme', 'zeta', undefined]);
    await expect(service.report({ client: 'zeta' }, ACME)).rejects.toMatchObject({ status: 403, response: expect.objectContaining({ field: 'client' }) });
  });

  it('refuses a client past a monthly budget with a 429 until the next month, naming the limit', async () => {
    const now = new Date('2026-12-31T23:00:00Z');
    spent = { gpu_seconds: 99.5, cost: 1 };
    await expect(service.checkBudget(ACME, now)).resolves.toBeUndefined();
    spent = { gpu_seconds: 100, cost: 1 };
    const refusal = (await service.checkBudget(ACME, now).catch((error: unknown) => error)) as RetryLaterError;
    expect(refusal).toBeInstanceOf(RetryLaterError);
    expect(refusal.getStatus()).toBe(429);
    expect(refusal.retryAfterS).toBe(3600);
    expect(refusal.getResponse()).toEqual(expect.objectContaining({ error: 'Too Many Requests', limit: 'monthly_gpu_seconds', message: expect.stringContaining('monthly_gpu_seconds') }));
    spent = { gpu_seconds: 0, cost: 2.5 };
    await expect(service.checkBudget(ACME, now)).rejects.toMatchObject({ response: expect.objectContaining({ limit: 'monthly_cost' }) });
    await expect(service.checkBudget(ADMIN, now)).resolves.toBeUndefined();
  });
});
