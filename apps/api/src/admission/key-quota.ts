import { JOB_KEY_PREFIX, REDIS_CLIENT } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';

/**
 * KEYS[1] the key's job ids (sorted set, scored by when they were admitted), KEYS[2] their output
 * seconds (hash), KEYS[3] the sum of those seconds. ARGV: job record prefix, now (ms), how long an
 * admitted id may have no record yet (ms), max jobs, max seconds, new id, its seconds, TTL (ms).
 * Within both limits by the running figures, the job is added at once; only a key that looks past
 * a limit has its ids checked, those whose record has ended or is gone dropped, and is judged
 * again. Returns {verdict (0 admitted, 1 too many jobs, 2 too many seconds), jobs, seconds}.
 */
const ADMIT_SCRIPT = `
local now = tonumber(ARGV[2])
local maxJobs, maxSeconds, seconds = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
local jobs = redis.call('ZCARD', KEYS[1])
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
if jobs + 1 > maxJobs or total + seconds > maxSeconds then
  local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  jobs, total = 0, 0
  for i = 1, #ids, 2 do
    local id = ids[i]
    local status = redis.call('HGET', ARGV[1] .. id, 'status')
    local live
    if status then
      live = status == 'IN_QUEUE' or status == 'IN_PROGRESS'
    else
      live = now - tonumber(ids[i + 1]) < tonumber(ARGV[3])
    end
    if live then
      jobs = jobs + 1
      total = total + tonumber(redis.call('HGET', KEYS[2], id) or '0')
    else
      redis.call('ZREM', KEYS[1], id)
      redis.call('HDEL', KEYS[2], id)
    end
  end
  redis.call('SET', KEYS[3], tostring(total))
  if jobs + 1 > maxJobs then return {1, jobs, tostring(total)} end
  if total + seconds > maxSeconds then return {2, jobs, tostring(total)} end
end
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('HSET', KEYS[2], ARGV[6], ARGV[7])
redis.call('SET', KEYS[3], tostring(total + seconds))
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[8]) end
return {0, jobs, tostring(total)}
`;

/** Long enough for the record to be written after admission, short enough to forget a refused job. */
const PENDING_RECORD_GRACE_MS = 60_000;
const KEY_TTL_MS = 7 * 24 * 3_600_000;

export interface KeyQuotaLimits {
  maxJobs: number;
  maxOutputS: number;
}

export type QuotaVerdict =
  | { admitted: true }
  | { admitted: false; limit: 'MAX_QUEUED_JOBS_PER_KEY' | 'MAX_QUEUED_OUTPUT_S_PER_KEY'; jobs: number; outputS: number };

/**
 * Queued and running jobs per API key, and the output seconds they declare, counted in Redis so
 * every API process sees the same figures. Check and admission are one atomic step: a flood of
 * concurrent requests from one key cannot all slip in under the limit. Ended jobs are only
 * counted out when a key reaches a limit, so a key well inside its limits costs O(log n).
 */
@Injectable()
export class KeyQuota {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async admit(keyId: string, jobId: string, outputS: number, limits: KeyQuotaLimits): Promise<QuotaVerdict> {
    const [verdict, jobs, seconds] = (await this.redis.eval(
      ADMIT_SCRIPT,
      3,
      `api-gpu:key-jobs:${keyId}`,
      `api-gpu:key-job-seconds:${keyId}`,
      `api-gpu:key-seconds-total:${keyId}`,
      JOB_KEY_PREFIX,
      String(Date.now()),
      String(PENDING_RECORD_GRACE_MS),
      String(limits.maxJobs),
      String(limits.maxOutputS),
      jobId,
      String(outputS),
      String(KEY_TTL_MS),
    )) as [number, number, string];
    if (verdict === 0) return { admitted: true };
    return {
      admitted: false,
      limit: verdict === 1 ? 'MAX_QUEUED_JOBS_PER_KEY' : 'MAX_QUEUED_OUTPUT_S_PER_KEY',
      jobs,
      outputS: Number(seconds),
    };
  }
}
