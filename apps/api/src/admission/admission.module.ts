import { Module } from '@nestjs/common';
import { UsageModule } from '../usage/usage.module';
import { JobAdmission } from './job-admission.service';
import { KeyQuota } from './key-quota';

/** What decides whether a job may be queued: work limits, monthly budgets, per-key queue limits, its deadline. */
@Module({
  imports: [UsageModule],
  providers: [KeyQuota, JobAdmission],
  exports: [JobAdmission],
})
export class AdmissionModule {}
