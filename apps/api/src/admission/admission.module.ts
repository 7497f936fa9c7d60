import { Module } from '@nestjs/common';
import { JobAdmission } from './job-admission.service';
import { KeyQuota } from './key-quota';

/** What decides whether a job may be queued: work limits, per-key queue limits, its deadline. */
@Module({
  providers: [KeyQuota, JobAdmission],
  exports: [JobAdmission],
})
export class AdmissionModule {}
