import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import type { Response } from 'express';
import { HealthCheck, HealthCheckResult } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';
import { HealthService, ServiceHealth } from './health.service';

@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Public()
  @Get('health')
  check(): Promise<ServiceHealth> {
    return this.health.check();
  }

  @Public()
  @Get('health/ready')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.readiness();
    } catch (error) {
      // Terminus's body as it is, not rewritten into the error shape: probes and dashboards read it.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
