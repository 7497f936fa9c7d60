import { JOB_EVENTS_CHANNEL, JOB_KEY_PREFIX, JobPart, JobStatus, REDIS_CLIENT, isTerminal, errorReason } from '@app/common';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';

/**
 * The coordinator only hears changes as they are announced: a part that ended while no API process
 * ran (or whose announcement was lost with a connection) would leave its batch waiting for ever.
 * So once at start and then every few seconds, each unfinished split job has a part announced again,
 * and the coordinator brings the job up to date from the records, which Redis keeps.
 */
const SWEEP_INTERVAL_MS = 15_000;
const SCAN_BATCH = 500;

@Injectable()
export class SplitRecovery implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SplitRecovery.name);
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    void this.sweep();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Announces one part of every split job that has not ended; returns how many were announced. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    let announced = 0;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${JOB_KEY_PREFIX}*`, 'COUNT', SCAN_BATCH);
        cursor = next;
        for (const firstPart of await this.unfinishedSplitParts(keys)) {
          await this.redis.publish(JOB_EVENTS_CHANNEL, firstPart);
          announced += 1;
        }
      } while (cursor !== '0');
    } catch (error) {
      this.logger.warn(`split jobs not looked over: ${errorReason(error)}`);
    } finally {
      this.sweeping = false;
    }
    return announced;
  }

  private async unfinishedSplitParts(keys: string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hmget(key, 'status', 'parts');
    const rows = (await pipeline.exec()) ?? [];
    const found: string[] = [];
    for (const [error, row] of rows) {
      const [status, parts] = (error ? [] : row) as [string | null, string | null];
      if (!status || !parts || isTerminal(status as JobStatus)) continue;
      const first = (JSON.parse(parts) as JobPart[])[0];
      if (first) found.push(first.id);
    }
    return found;
  }
}
