import { logLevelsFrom } from '@app/common';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { ApiEnv } from './config/api-env';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { bufferLogs: true });
  const config = app.get<ConfigService<ApiEnv, true>>(ConfigService);
  app.useLogger(logLevelsFrom(config.get('LOG_LEVEL', { infer: true })));
  app.enableShutdownHooks();
  const origins = config.get('CORS_ALLOW_ORIGINS', { infer: true });
  app.enableCors({ origin: origins === '*' ? '*' : origins.split(',').map((o) => o.trim()) });
  const port = config.get('PORT', { infer: true });
  await app.listen(port, config.get('HOST', { infer: true }));
  Logger.log(`API listening on :${port}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
