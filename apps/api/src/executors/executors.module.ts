import { JobEndingModule } from '@app/common';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiEnv } from '../config/api-env';
import { jobQueueByOperationProvider, jobQueueModules } from './local-queues';
import { NodesModule } from '../nodes/nodes.module';
import { StorageModule } from '../storage/storage.module';
import { ExecutorSelector } from './executor-selector';
import { LocalExecutor } from './local.executor';
import { RunPodDispatcher } from './runpod-dispatcher';
import { RunPodExecutor } from './runpod.executor';
import { runPodQueueByOperationProvider, runPodQueueModules } from './runpod-queues';
import { EXECUTOR_SETTINGS, executorSettingsFrom } from './runpod-settings';
import { SplitCoordinator } from './split-coordinator';
import { SplitRecovery } from './split/split-recovery';

/**
 * The two executors (local GPU nodes, RunPod serverless), the choice between them, and the RunPod
 * dispatcher, which consumes the RunPod queues in every API process where RunPod is configured.
 */
@Module({
  imports: [jobQueueModules, runPodQueueModules, JobEndingModule, NodesModule, StorageModule],
  providers: [
    {
      provide: EXECUTOR_SETTINGS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<ApiEnv, true>) => executorSettingsFrom(config),
    },
    LocalExecutor,
    RunPodExecutor,
    RunPodDispatcher,
    runPodQueueByOperationProvider,
    ExecutorSelector,
    SplitCoordinator,
    SplitRecovery,
    jobQueueByOperationProvider,
  ],
  exports: [ExecutorSelector, RunPodExecutor, EXECUTOR_SETTINGS, jobQueueByOperationProvider, JobEndingModule],
})
export class ExecutorsModule {}
