import { Controller, Get } from '@nestjs/common';

const NOT_CONFIGURED = 'RunPod is not configured: jobs run on the local GPU nodes';

/**
 * The replaced service's RunPod routes. Until a RunPod executor exists they answer 200 and say so,
 * with the documented fields present (null), so clients that read them keep working.
 */
@Controller('runpod')
export class RunpodController {
  @Get('health')
  health() {
    return {
      status: 'not_configured',
      endpoint: 'RunPod Serverless',
      configured: false,
      executor: 'local',
      message: NOT_CONFIGURED,
      timestamp: new Date().toISOString(),
    };
  }

  @Get('config')
  config() {
    return {
      endpointId: null,
      idleTimeout: null,
      maxTimeout: null,
      configured: false,
      executor: 'local',
      message: NOT_CONFIGURED,
    };
  }
}
