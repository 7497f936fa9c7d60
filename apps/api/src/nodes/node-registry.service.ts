import { NodeHeartbeat, REDIS_CLIENT, readLiveNodes } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';

/** The GPU nodes alive right now, as their heartbeats in Redis say. */
@Injectable()
export class NodeRegistryService {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  liveNodes(): Promise<NodeHeartbeat[]> {
    return readLiveNodes(this.redis);
  }
}
