import type Redis from 'ioredis';
import { NODE_HEARTBEAT_PREFIX, NodeHeartbeat } from './node-heartbeat';

/** The GPU nodes alive right now, as their heartbeats in Redis say, by node id. */
export async function readLiveNodes(redis: Redis): Promise<NodeHeartbeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${NODE_HEARTBEAT_PREFIX}*`, 'COUNT', 100);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values
    .filter((value): value is string => value !== null)
    .map((value) => JSON.parse(value) as NodeHeartbeat)
    .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}
