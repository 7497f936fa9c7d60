import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const SECONDS_FOR_JOBS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const SECONDS_FOR_QUEUE_WAIT = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300, 900, 3600];
const SECONDS_FOR_HTTP = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 300];

/**
 * The API's Prometheus metrics, in a registry of its own (not prom-client's global one) so that
 * several applications in one process, as in tests, never collide. Gauges that describe shared
 * state (queue depth, live nodes) are filled at scrape time by whoever owns that state.
 */
@Injectable()
export class ApiMetrics {
  readonly registry = new Registry();

  readonly jobs = new Counter({
    name: 'api_gpu_jobs_total',
    help: 'Jobs that reached a final status, by operation, executor and outcome',
    labelNames: ['operation', 'executor', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'api_gpu_job_duration_seconds',
    help: 'Time a job ran (RunPod executionTime), by operation, executor and outcome',
    labelNames: ['operation', 'executor', 'outcome'] as const,
    buckets: SECONDS_FOR_JOBS,
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'api_gpu_job_queue_wait_seconds',
    help: 'Time a job waited before it started (RunPod delayTime), by operation and executor',
    labelNames: ['operation', 'executor'] as const,
    buckets: SECONDS_FOR_QUEUE_WAIT,
    registers: [this.registry],
  });

  // Cluster-wide totals from the usage ledger, set at scrape time: every API process reports the
  // same figures (aggregate with max, not sum). Labelled only by configured clients.
  readonly clientJobs = new Counter({
    name: 'api_gpu_client_jobs_total',
    help: 'Ended jobs in the usage ledger, by client (a split batch counts as its parts)',
    labelNames: ['client'] as const,
    registers: [this.registry],
  });

  readonly clientGpuSeconds = new Counter({
    name: 'api_gpu_client_gpu_seconds_total',
    help: "GPU seconds billed to each client: RunPod's executionTime, or the node's run time",
    labelNames: ['client'] as const,
    registers: [this.registry],
  });

  readonly clientCost = new Counter({
    name: 'api_gpu_client_cost_total',
    help: 'Cost of the GPU seconds of each client, from RUNPOD_PRICE_PER_S and LOCAL_GPU_PRICE_PER_S',
    labelNames: ['client'] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'api_gpu_queue_jobs',
    help: 'Jobs in each Bull queue, by state (waiting, active, delayed, paused, failed, completed)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly liveNodes = new Gauge({
    name: 'api_gpu_nodes_live',
    help: 'GPU nodes whose heartbeat is current',
    registers: [this.registry],
  });

  readonly nodeSlots = new Gauge({
    name: 'api_gpu_node_slots',
    help: 'Job slots of each live GPU node',
    labelNames: ['node'] as const,
    registers: [this.registry],
  });

  readonly nodeFreeSlots = new Gauge({
    name: 'api_gpu_node_free_slots',
    help: 'Free job slots of each live GPU node',
    labelNames: ['node'] as const,
    registers: [this.registry],
  });

  readonly httpRequests = new Counter({
    name: 'api_gpu_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'api_gpu_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS_FOR_HTTP,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'api_gpu_webhook_deliveries_total',
    help: 'Webhooks whose delivery ended, by outcome (delivered, failed after the last retry)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'api_gpu_' });
  }
}
