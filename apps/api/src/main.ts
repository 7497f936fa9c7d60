import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { ApiEnv } from './config/api-env';
import { setupDocs } from './docs/docs';
import { jsonBody } from './http/json-body';
import { useObservability } from './observability/observability.module';
import { useSecurityHeaders } from './security/security-headers';

async function bootstrap() {
  // Nest's own body parser answers its errors outside the contract's shape; jsonBody does not.
  const app = await NestFactory.create(AppModule, { bufferLogs: true, bodyParser: false });
  const config = app.get<ConfigService<ApiEnv, true>>(ConfigService);
  useObservability(app);
  useSecurityHeaders(app);
  app.enableShutdownHooks();
  const origins = config.get('CORS_ALLOW_ORIGINS', { infer: true });
  app.enableCors({ origin: origins === '*' ? '*' : origins.split(',').map((o) => o.trim()) });
  app.use(...jsonBody(config.get('MAX_BODY_MB', { infer: true })));
  setupDocs(app);
  const port = config.get('PORT', { infer: true });
  await app.listen(port, config.get('HOST', { infer: true }));
  Logger.log(`API listening on :${port}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
