import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { SEED_REQUIRED_FIELD_CHECKS } from '../jobs/seed-required-fields';
import { ApiExceptionFilter } from './api-exception.filter';
import { RequestValidationPipe } from './request-validation.pipe';

/** Validation of every body and the contract's error shape on every failure, for all routes. */
@Module({
  providers: [
    { provide: APP_PIPE, useFactory: () => new RequestValidationPipe(SEED_REQUIRED_FIELD_CHECKS) },
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
  ],
})
export class ApiHttpModule {}
