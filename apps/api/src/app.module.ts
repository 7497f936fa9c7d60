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
import { TranscriptionModule } from './transcription/transcription.module';
import { OpenAiModule } from './openai/openai.module';
import { UploadsModule } from './uploads/uploads.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [
    configModuleFor(ApiEnv),
    RedisModule,
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
    AboutModule,
    DocsModule,
    AdminModule,
  ],
  providers: [HttpDrain],
})
export class AppModule {}
