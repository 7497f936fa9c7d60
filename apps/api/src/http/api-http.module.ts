import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ApiExceptionFilter } from './api-exception.filter';
import { RawBodyChecks, RequestValidationPipe } from './request-validation.pipe';

/**
 * Validation of every body and the contract's error shape on every failure, for all routes. The
 * routes' own checks of a raw body come from the application that owns the routes, so that this
 * module, which the routes' modules use, depends on none of them.
 */
@Module({})
export class ApiHttpModule {
  static withRawBodyChecks(checks: RawBodyChecks): DynamicModule {
    return {
      module: ApiHttpModule,
      providers: [
        { provide: APP_PIPE, useFactory: () => new RequestValidationPipe(checks) },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ],
    };
  }
}
