import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Server, ServerResponse, createServer } from 'node:http';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { NodeState } from '../lifecycle/node-state.service';
import { NodeMetrics } from '../metrics/node-metrics.service';
import { WorkerPool } from '../worker/worker-pool.service';

export interface NodeHealthBody {
  status: 'ok' | 'draining' | 'unavailable';
  node: string;
  slots: number;
  freeSlots: number;
  readyWorkers: number;
  draining: boolean;
  /** What the workers chose under `auto`, and why they fell back to the CPU (null: no fallback). */
  encoder: string | null;
  encoderFallback: string | null;
  whisperDevice: string | null;
  whisperFallback: string | null;
  message?: string;
}

/**
 * The node's own small HTTP port for Kubernetes probes: GET /health is 200 while the node takes
 * jobs, 503 while it drains or has no ready worker (so no traffic decision counts on it).
 */
@Injectable()
export class HealthServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HealthServer.name);
  private readonly port: number;
  private readonly host: string;
  private server?: Server;

  constructor(
    config: ConfigService<GpuNodeEnv, true>,
    private readonly state: NodeState,
    private readonly pool: WorkerPool,
    private readonly metrics: NodeMetrics,
  ) {
    this.port = config.get('NODE_HEALTH_PORT', { infer: true });
    this.host = config.get('NODE_HEALTH_HOST', { infer: true });
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method === 'GET' && path === '/health') return this.answerHealth(response);
      if (request.method === 'GET' && path === '/metrics') {
        return void this.answerMetrics(response).catch((error: unknown) =>
          send(response, 500, { error: 'Internal Server Error', message: `metrics: ${String(error)}` }),
        );
      }
      send(response, 404, { error: 'Not Found', message: `${request.method} ${path} does not exist` });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new Error(`NODE_HEALTH_HOST:NODE_HEALTH_PORT ${this.host}:${this.port} cannot be used: ${error.code ?? error.message}`)),
      );
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
    this.logger.log(`health on ${this.host}:${this.port}/health`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  health(): { code: number; body: NodeHealthBody } {
    const readyWorkers = this.pool.readyWorkers;
    const capabilities = this.pool.capabilities;
    const body: NodeHealthBody = {
      status: 'ok',
      node: this.state.nodeId,
      slots: this.pool.size,
      freeSlots: this.state.draining ? 0 : this.pool.freeSlots,
      readyWorkers,
      draining: this.state.draining,
      encoder: capabilities?.encoder ?? null,
      encoderFallback: capabilities?.encoderFallback ?? null,
      whisperDevice: capabilities?.whisperDevice ?? null,
      whisperFallback: capabilities?.whisperFallback ?? null,
    };
    if (this.state.draining) {
      return { code: 503, body: { ...body, status: 'draining', message: 'the node is shutting down' } };
    }
    if (readyWorkers === 0) {
      return { code: 503, body: { ...body, status: 'unavailable', message: 'no worker is ready' } };
    }
    return { code: 200, body };
  }

  private async answerMetrics(response: ServerResponse): Promise<void> {
    const { contentType, text } = await this.metrics.scrape();
    response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    response.end(text);
  }

  private answerHealth(response: ServerResponse): void {
    const { code, body } = this.health();
    send(response, code, body);
  }
}

function send(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}
