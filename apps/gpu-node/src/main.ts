import { logLevelsFrom } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { GpuNodeEnv } from './config/gpu-node-env';
import { GpuNodeModule } from './gpu-node.module';

async function bootstrap() {
  const app = await NestFactory.createApplicationContext(GpuNodeModule, { bufferLogs: true });
  const config = app.get<ConfigService<GpuNodeEnv, true>>(ConfigService);
  app.useLogger(logLevelsFrom(config.get('LOG_LEVEL', { infer: true })));
  app.enableShutdownHooks();
  await app.init();
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
