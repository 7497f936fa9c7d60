import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ApiClients } from './api-clients.service';
import { ClientIdentityMiddleware } from './client-identity.middleware';

/** Who each request comes from (API keys with identity), for every module that needs to know. */
@Global()
@Module({
  providers: [ApiClients],
  exports: [ApiClients],
})
export class TenancyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ClientIdentityMiddleware).forRoutes('*');
  }
}
