import { JobStore, WEBHOOK_QUEUE } from '@app/common';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiEnv } from '../config/api-env';
import { jobQueueByOperationProvider, jobQueueModules } from '../jobs/job-queues';
import { NodesModule } from '../nodes/nodes.module';
import { ExecutorSelector } from './executor-selector';
import { LocalExecutor } from './local.executor';
import { RunPodExecutor } from './runpod.executor';
import { EXECUTOR_SETTINGS, executorSettingsFrom } from './runpod-settings';
import { ResultStorage } from './result-storage';
import { SplitCoordinator } from './split-coordinator';
import { SplitRecovery } from './split/split-recovery';

/** The two executors (local GPU nodes, RunPod serverless) and the choice between them. */
@Module({
  imports: [jobQueueModules, BullModule.registerQueue({ name: WEBHOOK_QUEUE }), NodesModule],
  providers: [
    {
      provide: EXECUTOR_SETTINGS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<ApiEnv, true>) => executorSettingsFrom(config),
    },
    JobStore,
    ResultStorage,
    LocalExecutor,
    RunPodExecutor,
    ExecutorSelector,
    SplitCoordinator,
    SplitRecovery,
    jobQueueByOperationProvider,
  ],
  exports: [ExecutorSelector, RunPodExecutor, EXECUTOR_SETTINGS, jobQueueByOperationProvider],
})
export class ExecutorsModule {}
