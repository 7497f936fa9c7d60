import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { CommonEnv } from '../config/common-env';
import { jobKey } from '../jobs/job-keys';
import type { JobRecord } from '../jobs/job-record';
import { REDIS_CLIENT } from '../redis/redis.module';
import { USAGE_METRICS, UsageEntry, UsageFigures, UsagePrices, emptyFigures, figuresOf, usageEntryOf } from './usage-entry';

const PREFIX = 'api-gpu:usage:';
const DAY_MS = 86_400_000;
/** A month's budget figures outlive the month by this much, so last month can still be read. */
const MONTH_KEPT_AFTER_MS = 32 * DAY_MS;

/** The metrics kept all time per client, for the Prometheus counters. */
export const CLIENT_TOTAL_METRICS = ['jobs', 'gpu_seconds', 'cost'] as const satisfies readonly (keyof UsageFigures)[];
/** The metrics a monthly budget is checked against. */
const MONTH_METRICS = ['gpu_seconds', 'cost'] as const;

/**
 * Writes an entry once and adds it to the aggregates, atomically: a second write of the same job
 * (an end retried, two processes) changes nothing.
 * KEYS: entry, day aggregate, month figures, all-time client totals. ARGV[1] the entry (JSON),
 * ARGV[2] its expiry (unix s), ARGV[3] the day aggregate's expiry, ARGV[4] the month's; ARGV[5..7]
 * how many field/increment pairs follow for the day, the month and the totals, then the pairs.
 */
const RECORD_SCRIPT = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EXAT', ARGV[2]) then return 0 end
local i = 8
for k = 1, 3 do
  local count = tonumber(ARGV[4 + k])
  for _ = 1, count do
    redis.call('HINCRBYFLOAT', KEYS[k + 1], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
end
redis.call('EXPIREAT', KEYS[2], ARGV[3])
redis.call('EXPIREAT', KEYS[3], ARGV[4])
return 1
`;

export type UsageGrouping = 'day' | 'operation' | 'executor' | 'client';

export interface UsageQuery {
  /** First and last day, inclusive, as YYYY-MM-DD (UTC). */
  from: string;
  to: string;
  /** Only this client's usage; every client's when absent. */
  client?: string;
  groupBy?: UsageGrouping;
}

export interface UsageGroup {
  key: string;
  figures: UsageFigures;
}

export interface UsageReport {
  totals: UsageFigures;
  /** By the grouping asked for, sorted by key; empty without one. */
  groups: UsageGroup[];
}

/**
 * The usage and cost ledger in Redis (AOF, like the job records): one entry per ended job, kept
 * USAGE_RETENTION_DAYS, and aggregates kept as long, so that GET /usage reads one hash per day of
 * its range whatever the number of jobs:
 *   api-gpu:usage:entry:<job id>       the entry (JSON)
 *   api-gpu:usage:day:<YYYY-MM-DD>     `<metric>|<[client, operation, executor]>` -> sum, by end day (UTC)
 *   api-gpu:usage:month:<YYYY-MM>      `<metric>|<client>` -> sum, GPU seconds and cost, for budgets
 *   api-gpu:usage:totals               `<metric>|<client>` -> sum since the start, for Prometheus
 * Every key but the totals (one field per client and metric) expires by itself.
 */
@Injectable()
export class UsageLedger {
  private readonly prices: UsagePrices;
  private readonly retentionDays: number;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<CommonEnv, true>,
  ) {
    this.prices = {
      runpodPerS: config.get('RUNPOD_PRICE_PER_S', { infer: true }),
      localGpuPerS: config.get('LOCAL_GPU_PRICE_PER_S', { infer: true }),
    };
    this.retentionDays = config.get('USAGE_RETENTION_DAYS', { infer: true });
  }

  /**
   * Records an ended job, once; false when it is not billed on its own (a split batch) or was
   * recorded already. A part without a client of its own is its batch's.
   */
  async record(record: JobRecord): Promise<boolean> {
    let client = record.client;
    if (!client && record.parentId) client = (await this.redis.hget(jobKey(record.parentId), 'client').then(decodeField)) ?? undefined;
    const entry = usageEntryOf(record, this.prices, client);
    if (!entry) return false;
    return this.write(entry);
  }

  async entry(jobId: string): Promise<UsageEntry | null> {
    const raw = await this.redis.get(`${PREFIX}entry:${jobId}`);
    return raw ? (JSON.parse(raw) as UsageEntry) : null;
  }

  async write(entry: UsageEntry): Promise<boolean> {
    const ended = Date.parse(entry.ended_at);
    const day = entry.ended_at.slice(0, 10);
    const month = entry.ended_at.slice(0, 7);
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    const nextMonth = Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 1);
    const figures = figuresOf(entry);
    const group = JSON.stringify([entry.client, entry.operation, entry.executor]);
    const dayPairs = USAGE_METRICS.filter((metric) => figures[metric] !== 0).map((metric) => [`${metric}|${group}`, String(figures[metric])]);
    const monthPairs = MONTH_METRICS.map((metric) => [`${metric}|${entry.client}`, String(figures[metric])]);
    const totalPairs = CLIENT_TOTAL_METRICS.map((metric) => [`${metric}|${entry.client}`, String(figures[metric])]);
    const written = await this.redis.eval(
      RECORD_SCRIPT,
      4,
      `${PREFIX}entry:${entry.job_id}`,
      `${PREFIX}day:${day}`,
      `${PREFIX}month:${month}`,
      `${PREFIX}totals`,
      JSON.stringify(entry),
      String(unixSeconds(ended + this.retentionDays * DAY_MS)),
      String(unixSeconds(dayStart + (this.retentionDays + 1) * DAY_MS)),
      String(unixSeconds(nextMonth + MONTH_KEPT_AFTER_MS)),
      String(dayPairs.length),
      String(monthPairs.length),
      String(totalPairs.length),
      ...dayPairs.flat(),
      ...monthPairs.flat(),
      ...totalPairs.flat(),
    );
    return written === 1;
  }

  /** The first day still kept: earlier days have expired. */
  oldestKeptDay(now = Date.now()): string {
    return new Date(now - this.retentionDays * DAY_MS).toISOString().slice(0, 10);
  }

  /** Totals (and groups) of the days from `from` to `to`, read from the daily aggregates. */
  async report(query: UsageQuery): Promise<UsageReport> {
    const first = query.from > this.oldestKeptDay() ? query.from : this.oldestKeptDay();
    const days = daysBetween(first, query.to);
    const pipeline = this.redis.pipeline();
    for (const day of days) pipeline.hgetall(`${PREFIX}day:${day}`);
    const answers = days.length ? ((await pipeline.exec()) ?? []) : [];
    const totals = emptyFigures();
    const groups = new Map<string, UsageFigures>();
    answers.forEach(([error, fields], index) => {
      if (error) throw error;
      for (const [field, value] of Object.entries(fields as Record<string, string>)) {
        const separator = field.indexOf('|');
        const metric = field.slice(0, separator) as keyof UsageFigures;
        if (!(metric in totals)) continue;
        const [client, operation, executor] = JSON.parse(field.slice(separator + 1)) as [string, string, string];
        if (query.client !== undefined && client !== query.client) continue;
        const amount = Number(value);
        totals[metric] += amount;
        if (!query.groupBy) continue;
        const key = { day: days[index], operation, executor, client }[query.groupBy];
        const figures = groups.get(key) ?? emptyFigures();
        figures[metric] += amount;
        groups.set(key, figures);
      }
    });
    return {
      totals: tidy(totals),
      groups: [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, figures]) => ({ key, figures: tidy(figures) })),
    };
  }

  /** A client's GPU seconds and cost in the calendar month (UTC) of `at`. */
  async monthSpent(client: string, at = new Date()): Promise<{ gpu_seconds: number; cost: number }> {
    const [gpuSeconds, cost] = await this.redis.hmget(`${PREFIX}month:${at.toISOString().slice(0, 7)}`, `gpu_seconds|${client}`, `cost|${client}`);
    return { gpu_seconds: Number(gpuSeconds ?? 0), cost: Number(cost ?? 0) };
  }

  /** All-time jobs, GPU seconds and cost per client. */
  async clientTotals(): Promise<Map<string, Record<(typeof CLIENT_TOTAL_METRICS)[number], number>>> {
    const fields = await this.redis.hgetall(`${PREFIX}totals`);
    const totals = new Map<string, Record<(typeof CLIENT_TOTAL_METRICS)[number], number>>();
    for (const [field, value] of Object.entries(fields)) {
      const separator = field.indexOf('|');
      const metric = field.slice(0, separator) as (typeof CLIENT_TOTAL_METRICS)[number];
      const client = field.slice(separator + 1);
      const row = totals.get(client) ?? { jobs: 0, gpu_seconds: 0, cost: 0 };
      row[metric] = Number(value);
      totals.set(client, row);
    }
    return totals;
  }
}

/** Every day from `from` to `to` inclusive, as YYYY-MM-DD; empty when `to` is before `from`. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let at = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); at <= end; at += DAY_MS) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

/** Sums of floats read back from Redis, without their binary noise. */
function tidy(figures: UsageFigures): UsageFigures {
  for (const metric of USAGE_METRICS) figures[metric] = Math.round(figures[metric] * 1e6) / 1e6;
  return figures;
}

function unixSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

function decodeField(value: string | null): string | null {
  return value === null ? null : (JSON.parse(value) as string);
}
