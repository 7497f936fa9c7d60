import { NODE_HEARTBEAT_PREFIX, NodeHeartbeat, REDIS_CLIENT } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';

/** The GPU nodes alive right now, as their heartbeats in Redis say. */
@Injectable()
export class NodeRegistryService {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async liveNodes(): Promise<NodeHeartbeat[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${NODE_HEARTBEAT_PREFIX}*`, 'COUNT', 100);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.redis.mget(keys);
    return values
      .filter((value): value is string => value !== null)
      .map((value) => JSON.parse(value) as NodeHeartbeat)
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }
}
