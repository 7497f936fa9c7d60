import { UsageLedger } from '@app/common';
import { Module } from '@nestjs/common';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

/** GET /usage and the monthly budgets, over the usage ledger JobEnder writes. */
@Module({
  controllers: [UsageController],
  providers: [UsageLedger, UsageService],
  exports: [UsageLedger, UsageService],
})
export class UsageModule {}
