import { NodeHeartbeat, REDIS_CLIENT, errorReason, withTimeout } from '@app/common';
import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type Redis from 'ioredis';
import { ApiEnv } from '../config/api-env';
import { NodeRegistryService } from '../nodes/node-registry.service';
import { StorageService } from '../storage/storage.service';

const PING_TIMEOUT_MS = 2000;

export interface ServiceHealth {
  status: 'healthy' | 'unhealthy';
  service: string;
  timestamp: string;
  uptime: number;
  checks: HealthCheckResult['details'];
  nodes: NodeHeartbeat[];
  error?: string;
  message?: string;
}

/**
 * The replaced service's health body ({status, service, timestamp, uptime}) with Terminus's per-dependency
 * details added. Redis and MinIO are pinged on every call, so the answer is the state right now.
 */
@Injectable()
export class HealthService {
  private readonly serviceName: string;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly storage: StorageService,
    private readonly nodes: NodeRegistryService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.serviceName = config.get('SERVICE_NAME', { infer: true });
  }

  /** The health body when every dependency is up; throws 503 with the same body naming what is down. */
  async check(): Promise<ServiceHealth> {
    const [result, nodes] = await Promise.all([
      this.health
        .check([() => this.redisStatus(), () => this.minioStatus()])
        .catch((error: unknown) => {
          if (error instanceof ServiceUnavailableException) return error.getResponse() as HealthCheckResult;
          throw error;
        }),
      this.nodes.liveNodes().catch(() => []),
    ]);
    const body: ServiceHealth = {
      status: result.status === 'ok' ? 'healthy' : 'unhealthy',
      service: this.serviceName,
      timestamp: new Date().toISOString(),
      uptime: Math.round(process.uptime()),
      checks: result.details,
      nodes,
    };
    if (body.status === 'healthy') return body;
    const down = Object.entries(result.error ?? {}).map(
      ([name, detail]) => `${name} is down${detail?.message ? ` (${String(detail.message)})` : ''}`,
    );
    throw new ServiceUnavailableException({
      ...body,
      error: 'Service Unavailable',
      message: down.join('; '),
    });
  }

  /** Readiness for Kubernetes, in Terminus's own shape: 200 when Redis and MinIO answer, else 503. */
  readiness(): Promise<HealthCheckResult> {
    return this.health.check([() => this.redisStatus(), () => this.minioStatus()]);
  }

  private async redisStatus(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('redis');
    if (this.redis.status !== 'ready') {
      return indicator.down({ message: `not connected (${this.redis.status})` });
    }
    try {
      // A command caught in flight by a dropped connection waits for the reconnect; health must not.
      await withTimeout(this.redis.ping(), PING_TIMEOUT_MS, 'ping');
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: errorReason(error) });
    }
  }

  private async minioStatus(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('minio');
    try {
      await this.storage.ping();
      return indicator.up({ bucket: this.storage.bucket });
    } catch (error) {
      return indicator.down({ bucket: this.storage.bucket, message: errorReason(error) });
    }
  }
}
