import { BULL_PREFIX, REDIS_CLIENT } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { ApiEnv } from '../config/api-env';
import { ApiClients } from './api-clients.service';

/** One job of weight 1 advances its client's tag by this much; a weight-w client's by SCALE / w. */
const TAG_SCALE = 1000;
/** Tags of a queue nobody used for this long are forgotten (the next job starts them afresh). */
const TAGS_TTL_MS = 7 * 24 * 3_600_000;

/**
 * KEYS[1] Bull's priority set of the queue (its waiting jobs, scored by priority), KEYS[2] the
 * queue's virtual clock (the highest start tag handed out), KEYS[3] each client's finish tag
 * (hash). ARGV: client, its increment. Returns the job's start tag, its Bull priority.
 */
const TAG_SCRIPT = `
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local clock = tonumber(redis.call('GET', KEYS[2]) or '1')
local now = clock
if head[2] then now = tonumber(head[2]) end
local start = math.max(now, tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '1'), 1)
redis.call('HSET', KEYS[3], ARGV[1], tostring(start + tonumber(ARGV[2])))
if start > clock then redis.call('SET', KEYS[2], tostring(start)) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return start
`;

/**
 * Fair share of the GPU nodes between clients, by Bull job priority (start-time fair queuing).
 *
 * Each local queue keeps a virtual clock and, per client, a finish tag. A job is queued with
 * priority S = max(now, the client's finish tag), and the client's tag moves to S + 1000/weight;
 * `now` is the priority of the queue's next waiting job (the clock once nothing waits). Bull keeps
 * a queue's waiting jobs ordered by priority, so a client's n-th waiting job stands behind every
 * other client's (n-1)-th: the next free slot goes to the client with the fewest jobs taken since
 * it started waiting, weighted by `weight`, instead of whoever queued first. A client that queues
 * 100 jobs gets tags now, now+1000, …; one that then queues a single job gets `now` and is next.
 * No re-ranking is needed as jobs start: the tags are relative to the queue's head, which moves.
 * A split img2vid batch queues its parts one by one, so it counts as its parts.
 *
 * Queues are per operation and each node fetches from all of them for its slots (JobProcessor),
 * so jobs of different operations never wait behind one another's queue; within an operation's
 * queue this is what decides. FAIR_SHARE=false queues without priority: first come, first served.
 */
@Injectable()
export class FairShare {
  readonly enabled: boolean;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly clients: ApiClients,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.enabled = config.get('FAIR_SHARE', { infer: true }) === 'true';
  }

  /** The Bull priority of a job `client` queues on `queue` now; undefined with fair share off. */
  async priorityFor(queue: string, client: string | undefined): Promise<number | undefined> {
    if (!this.enabled) return undefined;
    const owner = client ?? 'anonymous';
    const weight = (client && this.clients.named(client)?.limits.weight) || 1;
    const start = await this.redis.eval(
      TAG_SCRIPT,
      3,
      `${BULL_PREFIX}:${queue}:priority`,
      `api-gpu:fair-share:${queue}:clock`,
      `api-gpu:fair-share:${queue}:finish`,
      owner,
      String(Math.max(1, Math.round(TAG_SCALE / weight))),
      String(TAGS_TTL_MS),
    );
    return Number(start);
  }
}
