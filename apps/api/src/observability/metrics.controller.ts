import { UsageLedger, withTimeout, errorReason } from '@app/common';
import { Controller, Get, Header, Logger, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator';
import { NodeRegistryService } from '../nodes/node-registry.service';
import { ApiClients } from '../tenancy/api-clients.service';
import { ApiMetrics } from './api-metrics';
import { QueueInspector } from './queue-inspector';

/** A scrape must answer even when Redis does not; the shared-state gauges are then left out. */
const SCRAPE_READ_TIMEOUT_MS = 2000;

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly logger = new Logger(MetricsController.name);

  constructor(
    private readonly metrics: ApiMetrics,
    private readonly queues: QueueInspector,
    private readonly nodes: NodeRegistryService,
    private readonly ledger: UsageLedger,
    private readonly clients: ApiClients,
  ) {}

  @Public()
  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Metrics in the Prometheus text format', schema: { type: 'string' } })
  async scrape(@Res() res: Response): Promise<void> {
    await Promise.all([this.readQueueDepths(), this.readNodes(), this.readClientUsage()]);
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.send(await this.metrics.registry.metrics());
  }

  private async readQueueDepths(): Promise<void> {
    this.metrics.queueDepth.reset();
    try {
      const counts = await withTimeout(
        Promise.all(this.queues.queues.map(async (queue) => [queue.name, await queue.getJobCounts()] as const)),
        SCRAPE_READ_TIMEOUT_MS,
        'queue counts',
      );
      for (const [queue, byState] of counts) {
        for (const [state, count] of Object.entries(byState as unknown as Record<string, number>)) {
          this.metrics.queueDepth.set({ queue, state }, count);
        }
      }
    } catch (error) {
      this.logger.warn(`queue depths left out of this scrape: ${errorReason(error)}`);
    }
  }

  /** Only configured clients are labels, so their number is bounded by the keys file. */
  private async readClientUsage(): Promise<void> {
    const counters = [this.metrics.clientJobs, this.metrics.clientGpuSeconds, this.metrics.clientCost];
    for (const counter of counters) counter.reset();
    try {
      const totals = await withTimeout(this.ledger.clientTotals(), SCRAPE_READ_TIMEOUT_MS, 'client usage');
      for (const { name } of this.clients.list()) {
        const figures = totals.get(name) ?? { jobs: 0, gpu_seconds: 0, cost: 0 };
        this.metrics.clientJobs.inc({ client: name }, figures.jobs);
        this.metrics.clientGpuSeconds.inc({ client: name }, figures.gpu_seconds);
        this.metrics.clientCost.inc({ client: name }, figures.cost);
      }
    } catch (error) {
      this.logger.warn(`client usage left out of this scrape: ${errorReason(error)}`);
    }
  }

  private async readNodes(): Promise<void> {
    this.metrics.nodeSlots.reset();
    this.metrics.nodeFreeSlots.reset();
    try {
      const nodes = await withTimeout(this.nodes.liveNodes(), SCRAPE_READ_TIMEOUT_MS, 'live nodes');
      this.metrics.liveNodes.set(nodes.length);
      for (const node of nodes) {
        this.metrics.nodeSlots.set({ node: node.nodeId }, node.slots);
        this.metrics.nodeFreeSlots.set({ node: node.nodeId }, node.freeSlots);
      }
    } catch (error) {
      this.metrics.liveNodes.reset();
      this.logger.warn(`live nodes left out of this scrape: ${errorReason(error)}`);
    }
  }
}
