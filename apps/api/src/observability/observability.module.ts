import { JobStore } from '@app/common';
import { Global, INestApplication, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { NodesModule } from '../nodes/nodes.module';
import { UsageModule } from '../usage/usage.module';
import { ApiMetrics } from './api-metrics';
import { httpMetricsMiddleware } from './http-metrics.middleware';
import { JobIdLoggingInterceptor } from './job-id-logging.interceptor';
import { JobMetrics } from './job-metrics.service';
import { LoggingModule } from './logging';
import { MetricsController } from './metrics.controller';
import { QueueInspector } from './queue-inspector';

/** JSON logs (nestjs-pino), Prometheus metrics at /metrics, and the queue handles both read. */
@Global()
@Module({
  imports: [LoggingModule, NodesModule, UsageModule],
  controllers: [MetricsController],
  providers: [
    ApiMetrics,
    JobMetrics,
    JobStore,
    QueueInspector,
    { provide: APP_INTERCEPTOR, useClass: JobIdLoggingInterceptor },
  ],
  exports: [ApiMetrics, JobMetrics, QueueInspector],
})
export class ObservabilityModule {}

/** Routes the application's own logging through pino and measures every HTTP answer. */
export function useObservability(app: INestApplication): void {
  app.useLogger(app.get(Logger));
  app.use(httpMetricsMiddleware(app.get(ApiMetrics)));
}
