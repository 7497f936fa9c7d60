import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ERROR_SCHEMA } from '../docs/error-responses';
import type { Response } from 'express';
import { currentClient } from '../tenancy/client-identity';
import { USAGE_FORMATS, USAGE_GROUPINGS, UsageQueryString, usageBody, usageCsv, usageFormat } from './usage-query';
import { UsageService } from './usage.service';

@ApiTags('usage')
@Controller('usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @ApiOperation({
    summary: 'Usage and cost of ended jobs, per day range: a client key its own, an admin key every client',
    description:
      'Totals from the usage ledger (one entry per ended job; a split batch counts as its parts): jobs by outcome, media seconds in and out, images, the worker\'s time on GPU and CPU, RunPod\'s billed executionTime, GPU seconds (what is billed: RunPod\'s executionTime, or the node\'s run time) and their cost from RUNPOD_PRICE_PER_S and LOCAL_GPU_PRICE_PER_S. JSON, or CSV with `format=csv` or `Accept: text/csv`.',
  })
  @ApiQuery({ name: 'from', required: false, description: 'First day, YYYY-MM-DD (UTC); default the first day of this month', example: '2026-12-01' })
  @ApiQuery({ name: 'to', required: false, description: 'Last day, included, YYYY-MM-DD (UTC); default today', example: '2026-12-31' })
  @ApiQuery({ name: 'client', required: false, description: "An admin: only this client's usage. A client: its own name or nothing." })
  @ApiQuery({ name: 'group_by', required: false, enum: USAGE_GROUPINGS, description: 'One row per day, operation, executor or client' })
  @ApiQuery({ name: 'format', required: false, enum: USAGE_FORMATS, description: 'json (default) or csv' })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({
    description: 'The totals, and the groups asked for',
    schema: {
      type: 'object',
      example: {
        from: '2026-12-01',
        to: '2026-12-31',
        client: 'acme',
        group_by: 'operation',
        totals: { jobs: 3, completed: 3, gpu_seconds: 41.2, cost: 0.0041 },
        groups: [{ operation: 'caption', jobs: 3, completed: 3, gpu_seconds: 41.2, cost: 0.0041 }],
      },
    },
  })
  @ApiBadRequestResponse({
    description: 'A bad `from`, `to`, `group_by` or `format`; `field` names it',
    schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` },
  })
  @ApiForbiddenResponse({
    description: "A client key naming another client in `client`: a client sees only its own usage",
    schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` },
  })
  async usageReport(@Query() query: UsageQueryString, @Headers('accept') accept: string | undefined, @Res() res: Response): Promise<void> {
    const format = usageFormat(query.format, accept);
    const { query: understood, report } = await this.usage.report(query, currentClient());
    if (format === 'csv') {
      res.type('text/csv; charset=utf-8').send(usageCsv(understood, report));
      return;
    }
    res.json(usageBody(understood, report));
  }
}
