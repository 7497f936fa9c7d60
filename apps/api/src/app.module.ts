import { RedisModule, configModuleFor } from '@app/common';
import { Module } from '@nestjs/common';
import { AboutModule } from './about/about.module';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { ApiEnv } from './config/api-env';
import { DocsModule } from './docs/docs';
import { HealthModule } from './health/health.module';
import { HttpDrain } from './lifecycle/http-drain.service';
import { ObservabilityModule } from './observability/observability.module';
import { ApiHttpModule } from './http/api-http.module';
import { bullRootModule } from './jobs/job-queues';
import { JobsModule } from './jobs/jobs.module';
import { LEGACY_REQUIRED_FIELD_CHECKS } from './jobs/legacy-required-fields';
import { RunpodModule } from './runpod/runpod.module';
import { SecurityModule } from './security/security.module';
import { TenancyModule } from './tenancy/tenancy.module';
import { TranscriptionModule } from './transcription/transcription.module';
import { OpenAiModule } from './openai/openai.module';
import { UploadsModule } from './uploads/uploads.module';
import { UsageModule } from './usage/usage.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [
    configModuleFor(ApiEnv),
    RedisModule,
    // First: every other module's middleware, guards and services may ask who the request is from.
    TenancyModule,
    ObservabilityModule,
    // Before AuthModule: requests with a wrong key are rate-limited too.
    SecurityModule,
    AuthModule,
    HealthModule,
    ApiHttpModule.withRawBodyChecks(LEGACY_REQUIRED_FIELD_CHECKS),
    bullRootModule(),
    JobsModule,
    WebhooksModule,
    TranscriptionModule,
    OpenAiModule,
    UploadsModule,
    RunpodModule,
    UsageModule,
    AboutModule,
    DocsModule,
    AdminModule,
  ],
  providers: [HttpDrain],
})
export class AppModule {}
