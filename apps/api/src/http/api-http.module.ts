import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LEGACY_REQUIRED_FIELD_CHECKS } from '../jobs/legacy-required-fields';
import { ApiExceptionFilter } from './api-exception.filter';
import { RequestValidationPipe } from './request-validation.pipe';

/** Validation of every body and the contract's error shape on every failure, for all routes. */
@Module({
  providers: [
    { provide: APP_PIPE, useFactory: () => new RequestValidationPipe(LEGACY_REQUIRED_FIELD_CHECKS) },
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
  ],
})
export class ApiHttpModule {}
