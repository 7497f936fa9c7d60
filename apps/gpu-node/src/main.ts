import { logLevelsFrom, rotatingLogFile } from '@app/common';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { GpuNodeEnv } from './config/gpu-node-env';
import { GpuNodeModule } from './gpu-node.module';
import { HeartbeatService } from './heartbeat/heartbeat.service';
import { Drain } from './jobs/drain.service';
import { FileCopyLogger } from './logging/file-copy-logger';

/** Closing queues and connections after the drain must not hold the exit forever. */
const CLOSE_TIMEOUT_MS = 15_000;

async function bootstrap() {
  const app = await NestFactory.createApplicationContext(GpuNodeModule, { bufferLogs: true });
  const config = app.get<ConfigService<GpuNodeEnv, true>>(ConfigService);
  const levels = logLevelsFrom(config.get('LOG_LEVEL', { infer: true }));
  const logsDir = config.get('LOGS_DIR', { infer: true });
  app.useLogger(logsDir ? new FileCopyLogger(rotatingLogFile(logsDir, 'gpu-node.log'), levels) : levels);
  const logger = new Logger('GpuNode');

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: taking no new job`);
    const { handedBack } = await app.get(Drain).run();
    if (handedBack.length > 0) {
      // Their Bull handlers never settle, so closing the queues would wait for them forever.
      await app.get(HeartbeatService).withdraw();
    } else {
      const timer = setTimeout(() => process.exit(0), CLOSE_TIMEOUT_MS);
      await app.close();
      clearTimeout(timer);
    }
    logger.log('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.init();
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
