import { errorReason } from '@app/common';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { RunPodExecutor } from '../executors/runpod.executor';
import { EXECUTOR_SETTINGS, ExecutorSettings } from '../executors/runpod-settings';

const NOT_CONFIGURED = 'RunPod is not configured: jobs run on the local GPU nodes';

/**
 * The replaced service's RunPod routes, in its shapes (`status`, `endpoint`, `timestamp`;
 * `endpointId`, `idleTimeout`, `maxTimeout`), with details added: RunPod's own /health counts
 * and this service's executor settings, keys masked.
 */
@Controller('runpod')
export class RunpodController {
  constructor(
    private readonly runpod: RunPodExecutor,
    @Inject(EXECUTOR_SETTINGS) private readonly settings: ExecutorSettings,
  ) {}

  @Get('health')
  async health(@Res({ passthrough: true }) res: Response) {
    const timestamp = new Date().toISOString();
    const check = this.runpod.health();
    if (!check) {
      return { status: 'not_configured', endpoint: 'RunPod Serverless', configured: false, executor: 'local', message: NOT_CONFIGURED, timestamp };
    }
    try {
      const { jobs, workers } = await check;
      return { status: 'healthy', endpoint: 'RunPod Serverless', configured: true, jobs, workers, timestamp };
    } catch (error) {
      res.status(503);
      const message = errorReason(error);
      return { status: 'unhealthy', endpoint: 'RunPod Serverless', configured: true, message, timestamp };
    }
  }

  @Get('config')
  config() {
    const runpod = this.settings.runpod;
    if (!runpod) {
      return {
        endpointId: null,
        idleTimeout: null,
        maxTimeout: null,
        configured: false,
        executor: 'local',
        executorMode: this.settings.mode,
        message: NOT_CONFIGURED,
      };
    }
    return {
      endpointId: runpod.endpointId,
      // A setting of the endpoint in RunPod's console, which the API cannot read: as the operator states it.
      idleTimeout: runpod.idleTimeoutS,
      maxTimeout: runpod.executionTimeoutS,
      maxWait: runpod.maxWaitS,
      configured: true,
      executorMode: this.settings.mode,
      apiBase: runpod.apiBase,
      apiKey: mask(runpod.apiKey),
      whisperEndpointId: runpod.whisperEndpointId,
      whisperWorker: runpod.whisperWorker,
      burstQueueThreshold: this.settings.burstQueueThreshold,
    };
  }
}

/** Enough of a key to tell which one is set, never enough to use it. */
function mask(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 4)}****${key.slice(-2)}`;
}
