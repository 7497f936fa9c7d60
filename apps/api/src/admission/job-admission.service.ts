import {
  DeadlineSettings,
  JobOperation,
  WorkLimits,
  checkWorkLimits,
  declaredOutputSeconds,
  jobDeadlineSeconds,
} from '@app/common';
import { HttpStatus, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { ApiEnv } from '../config/api-env';
import { RetryLaterError, badRequest } from '../http/error-body';
import { KeyQuota, KeyQuotaLimits } from './key-quota';
import { currentClient } from '../tenancy/client-identity';
import { UsageService } from '../usage/usage.service';

/** A key past its queue limits is asked to come back once some of its jobs have had time to end. */
export const QUOTA_RETRY_AFTER_S = 30;

export interface Admission {
  jobId: string;
  deadlineS: number;
}

/**
 * Whether a valid job may be queued, decided before anything is written: the work it asks for
 * (400 naming the field), its client's monthly budget (429 until the next month), and what its
 * client (API key) already has queued or running, against MAX_QUEUED_*_PER_KEY and the client's
 * max_concurrent_jobs (429 with Retry-After). An admitted job gets its id and its deadline.
 */
@Injectable()
export class JobAdmission {
  private readonly workLimits: WorkLimits;
  private readonly quota: KeyQuotaLimits;
  private readonly deadlines: DeadlineSettings;

  constructor(
    private readonly keyQuota: KeyQuota,
    private readonly usage: UsageService,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.workLimits = { maxTotalOutputS: config.get('MAX_TOTAL_OUTPUT_S', { infer: true }) };
    this.quota = {
      maxJobs: config.get('MAX_QUEUED_JOBS_PER_KEY', { infer: true }),
      maxOutputS: config.get('MAX_QUEUED_OUTPUT_S_PER_KEY', { infer: true }),
    };
    this.deadlines = {
      floorS: config.get('JOB_DEADLINE_FLOOR_S', { infer: true }),
      maxS: config.get('JOB_MAX_RUNTIME_S', { infer: true }),
    };
  }

  async admit(operation: JobOperation, input: Record<string, unknown>): Promise<Admission> {
    const violation = checkWorkLimits(operation, input, this.workLimits);
    if (violation) throw badRequest(violation.message, { field: violation.field });
    const client = currentClient();
    await this.usage.checkBudget(client);
    const jobId = randomUUID();
    const outputS = declaredOutputSeconds(operation, input) ?? 0;
    // The client's own max_concurrent_jobs (API_KEYS_FILE) and the operator's per-key limit are one
    // count of queued and running jobs: the lower of the two applies, and is the one named.
    const clientMax = client.limits.max_concurrent_jobs;
    const clientLimitApplies = clientMax !== undefined && clientMax < this.quota.maxJobs;
    const limits = { ...this.quota, maxJobs: clientLimitApplies ? clientMax : this.quota.maxJobs };
    const verdict = await this.keyQuota.admit(client.name, jobId, outputS, limits);
    if (!verdict.admitted) {
      const limit = verdict.limit === 'MAX_QUEUED_JOBS_PER_KEY' && clientLimitApplies ? 'max_concurrent_jobs' : verdict.limit;
      const figure =
        verdict.limit === 'MAX_QUEUED_JOBS_PER_KEY'
          ? `${verdict.jobs} jobs queued or running, at most ${limits.maxJobs}`
          : `${Math.round(verdict.outputS)} s of output queued, this job adds ${Math.round(outputS)} s, at most ${this.quota.maxOutputS}`;
      const holder = limit === 'max_concurrent_jobs' ? `Client ${client.name}` : 'This API key';
      throw new RetryLaterError(
        HttpStatus.TOO_MANY_REQUESTS,
        `${holder} has reached ${limit} (${figure}); nothing was queued, retry after ${QUOTA_RETRY_AFTER_S} s`,
        QUOTA_RETRY_AFTER_S,
        { limit },
      );
    }
    return { jobId, deadlineS: jobDeadlineSeconds(operation, input, this.deadlines) };
  }
}
