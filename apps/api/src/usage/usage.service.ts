import { UsageLedger, UsageQuery, UsageReport } from '@app/common';
import { HttpStatus, Injectable } from '@nestjs/common';
import { RetryLaterError, apiError } from '../http/error-body';
import { ClientIdentity } from '../tenancy/client-identity';
import { UsageQueryString, parseUsageQuery } from './usage-query';

/** The limits of a monthly budget, as API_KEYS_FILE names them. */
const BUDGET_LIMITS = ['monthly_gpu_seconds', 'monthly_cost'] as const;
const BUDGET_FIGURE = { monthly_gpu_seconds: 'gpu_seconds', monthly_cost: 'cost' } as const;

/** GET /usage's answers and the monthly budgets, both read from the usage ledger. */
@Injectable()
export class UsageService {
  constructor(private readonly ledger: UsageLedger) {}

  /**
   * The usage `client` may see: an admin every client's (or the one it names), a client its own
   * only; a client naming another is a 403 naming `client`, whether that client exists or not.
   */
  async report(raw: UsageQueryString, client: ClientIdentity): Promise<{ query: UsageQuery; report: UsageReport }> {
    const parsed = parseUsageQuery(raw);
    if (client.role !== 'admin' && parsed.client !== undefined && parsed.client !== client.name) {
      throw apiError(HttpStatus.FORBIDDEN, 'client: a client key sees only its own usage; leave client out or name your own', { field: 'client' });
    }
    const query: UsageQuery = client.role === 'admin' ? parsed : { ...parsed, client: client.name };
    return { query, report: await this.ledger.report(query) };
  }

  /**
   * Refuses a submission once the client's usage this calendar month (UTC) has reached one of its
   * budgets: a 429 naming the limit, with Retry-After until the next month begins. Jobs still
   * running are counted when they end, so a month may end a little past its budget.
   */
  async checkBudget(client: ClientIdentity, now = new Date()): Promise<void> {
    const budgets = BUDGET_LIMITS.filter((limit) => client.limits[limit] !== undefined);
    if (budgets.length === 0) return;
    const spent = await this.ledger.monthSpent(client.name, now);
    for (const limit of budgets) {
      const budget = client.limits[limit]!;
      const used = spent[BUDGET_FIGURE[limit]];
      if (used < budget) continue;
      const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
      const retryAfterS = Math.max(1, Math.ceil((nextMonth - now.getTime()) / 1000));
      throw new RetryLaterError(
        HttpStatus.TOO_MANY_REQUESTS,
        `Client ${client.name} has used its ${limit} budget for ${now.toISOString().slice(0, 7)} (${round(used)} of ${budget}); nothing was queued, retry when the next month begins`,
        retryAfterS,
        { limit },
      );
    }
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
