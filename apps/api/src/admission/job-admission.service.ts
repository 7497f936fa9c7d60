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
 * (400 naming the field), its client's monthly budget (429 until the next month) and what its API
 * key already has queued or running (429 with Retry-After). An admitted job gets its id and its deadline.
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
    await this.usage.checkBudget(currentClient());
    const jobId = randomUUID();
    const outputS = declaredOutputSeconds(operation, input) ?? 0;
    const verdict = await this.keyQuota.admit(currentClient().name, jobId, outputS, this.quota);
    if (!verdict.admitted) {
      const figure =
        verdict.limit === 'MAX_QUEUED_JOBS_PER_KEY'
          ? `${verdict.jobs} jobs queued or running, at most ${this.quota.maxJobs}`
          : `${Math.round(verdict.outputS)} s of output queued, this job adds ${Math.round(outputS)} s, at most ${this.quota.maxOutputS}`;
      throw new RetryLaterError(
        HttpStatus.TOO_MANY_REQUESTS,
        `This API key has reached ${verdict.limit} (${figure}); nothing was queued, retry after ${QUOTA_RETRY_AFTER_S} s`,
        QUOTA_RETRY_AFTER_S,
        { limit: verdict.limit },
      );
    }
    return { jobId, deadlineS: jobDeadlineSeconds(operation, input, this.deadlines) };
  }
}
