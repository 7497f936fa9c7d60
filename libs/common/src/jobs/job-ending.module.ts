import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { UsageLedger } from '../usage/usage-ledger';
import { JobEnder } from './job-ender';
import { JobStore } from './job-store';
import { WEBHOOK_QUEUE } from './queues';

/** JobEnder and what it needs (the job store, the usage ledger); the importing app provides Bull's root configuration and REDIS_CLIENT. */
@Module({
  imports: [BullModule.registerQueue({ name: WEBHOOK_QUEUE })],
  providers: [JobStore, JobEnder, UsageLedger],
  exports: [JobEnder, JobStore, UsageLedger],
})
export class JobEndingModule {}
