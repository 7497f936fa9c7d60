import { BULL_PREFIX, JOB_QUEUES, JobEndingModule } from '@app/common';
import { BullModule, getQueueToken } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import type { Queue } from 'bull';
import { ConfigService } from '@nestjs/config';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { WorkerModule } from '../worker/worker.module';
import { CancelListener } from './cancel-listener.service';
import { Drain } from './drain.service';
import { JobDeadlines } from './job-deadlines.service';
import { JOB_QUEUE_LIST, JobProcessor } from './job-processor.service';
import { WarmPreference } from './warm-preference.service';

@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<GpuNodeEnv, true>) => {
        const lockDuration = config.get('JOB_LOCK_MS', { infer: true });
        return {
          url: config.get('REDIS_URL', { infer: true }),
          prefix: BULL_PREFIX,
          settings: {
            lockDuration,
            lockRenewTime: lockDuration / 4,
            // A lost lock is noticed at the first check after it expires, and the job moved back
            // to the queue at the next: within about 1.5 lockDuration of the node's death.
            stalledInterval: lockDuration / 2,
            // Each loss of the node running a job (SIGKILL, hang) spends one of its JOB_MAX_ATTEMPTS runs.
            maxStalledCount: config.get('JOB_MAX_ATTEMPTS', { infer: true }) - 1,
          },
        };
      },
    }),
    BullModule.registerQueue(...Object.values(JOB_QUEUES).map((name) => ({ name }))),
    JobEndingModule,
    LifecycleModule,
    WorkerModule,
  ],
  providers: [
    {
      provide: JOB_QUEUE_LIST,
      inject: Object.values(JOB_QUEUES).map((name) => getQueueToken(name)),
      useFactory: (...queues: Queue[]) => queues,
    },
    JobProcessor, CancelListener, Drain, WarmPreference, JobDeadlines],
  exports: [JobProcessor, Drain],
})
export class JobsModule {}
