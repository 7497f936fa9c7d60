import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ApiClients } from './api-clients.service';
import { ClientIdentityMiddleware } from './client-identity.middleware';
import { FairShare } from './fair-share';
import { IdempotentSubmissions, idempotencyKeyMiddleware } from './idempotency';

/** Who each request comes from (API keys with identity) and its Idempotency-Key, for every module that needs to know. */
@Global()
@Module({
  providers: [ApiClients, IdempotentSubmissions, FairShare],
  exports: [ApiClients, IdempotentSubmissions, FairShare],
})
export class TenancyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ClientIdentityMiddleware, idempotencyKeyMiddleware).forRoutes('*');
  }
}
