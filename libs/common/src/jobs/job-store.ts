import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.module';
import { JOB_EVENTS_CHANNEL, jobKey } from './job-keys';
import type { JobRecord, JobUpdate } from './job-record';
import { JobStatus, TERMINAL_JOB_STATUSES, isTerminal } from './job-status';

/**
 * Sets fields of a job record only if the job exists and its status is one of the allowed ones,
 * atomically, then announces the change. A cancel and a completion that race each other thus
 * resolve to exactly one winner, whichever process they come from.
 *
 * KEYS[1] the record; ARGV[1] allowed statuses, comma-separated, or "*"; ARGV[2] TTL in ms, or 0
 * to keep; ARGV[3] events channel; ARGV[4] job id; ARGV[5..] field, value pairs.
 * Returns 1 when applied, 0 when there is no such job, -1 when its status forbids the change.
 */
const TRANSITION_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] ~= '*' then
  local status = redis.call('HGET', KEYS[1], 'status')
  local allowed = false
  for candidate in string.gmatch(ARGV[1], '[^,]+') do
    if candidate == status then allowed = true end
  end
  if not allowed then return -1 end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

export type TransitionOutcome = 'applied' | 'missing' | 'refused';

const ACTIVE_STATUSES = Object.values(JobStatus).filter((status) => !isTerminal(status));

/**
 * The job records in Redis: one hash per job, `status` as a plain string (the script compares
 * it) and every other field JSON-encoded. Ended jobs expire after the retention the caller sets.
 */
@Injectable()
export class JobStore {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async create(record: JobRecord): Promise<void> {
    await this.redis.hset(jobKey(record.id), encode(record));
  }

  async get(jobId: string): Promise<JobRecord | null> {
    const fields = await this.redis.hgetall(jobKey(jobId));
    return fields.status ? decode(fields) : null;
  }

  /**
   * Some fields of several records in one round trip, without reading the rest (an img2vid input
   * can hold 500 images); null for a record that does not exist.
   */
  async peek<K extends keyof JobRecord>(jobIds: string[], fields: K[]): Promise<(Pick<JobRecord, K | 'status'> | null)[]> {
    if (jobIds.length === 0) return [];
    const names = [...new Set<string>(['status', ...fields])];
    const pipeline = this.redis.pipeline();
    for (const id of jobIds) pipeline.hmget(jobKey(id), ...names);
    const rows = (await pipeline.exec()) ?? [];
    return rows.map(([error, values]) => {
      if (error) throw error;
      const row = values as (string | null)[];
      if (row[0] === null) return null;
      const found: Record<string, string> = {};
      names.forEach((name, index) => {
        if (row[index] !== null) found[name] = row[index];
      });
      return decode(found);
    });
  }

  /** Deletes a record, e.g. one whose job could not be queued, so that no one waits on it. */
  async remove(jobId: string): Promise<void> {
    await this.redis.del(jobKey(jobId));
  }

  /** Applies `update` if the job is still active (neither ended nor cancelled). */
  updateActive(jobId: string, update: JobUpdate): Promise<TransitionOutcome> {
    return this.transition(jobId, ACTIVE_STATUSES, update);
  }

  /**
   * Moves a job to a terminal status if it is still active, and starts its retention clock.
   * `retentionMs` 0 keeps the record until something else removes it.
   */
  finish(
    jobId: string,
    status: (typeof TERMINAL_JOB_STATUSES)[number],
    update: JobUpdate,
    retentionMs: number,
  ): Promise<TransitionOutcome> {
    return this.transition(
      jobId,
      ACTIVE_STATUSES,
      { endedAt: new Date().toISOString(), ...update, status },
      retentionMs,
    );
  }

  /** Applies `update` whatever the status, e.g. the webhook outcome of an ended job. */
  annotate(jobId: string, update: JobUpdate): Promise<TransitionOutcome> {
    return this.transition(jobId, '*', update);
  }

  private async transition(
    jobId: string,
    allowedFrom: readonly JobStatus[] | '*',
    update: JobUpdate,
    ttlMs = 0,
  ): Promise<TransitionOutcome> {
    const fields = Object.entries(encode(update)).flat();
    if (fields.length === 0) return 'applied';
    const allowed = allowedFrom === '*' ? '*' : allowedFrom.join(',');
    const result = (await this.redis.eval(
      TRANSITION_SCRIPT,
      1,
      jobKey(jobId),
      allowed,
      String(ttlMs),
      JOB_EVENTS_CHANNEL,
      jobId,
      ...fields,
    )) as number;
    return result === 1 ? 'applied' : result === 0 ? 'missing' : 'refused';
  }
}

function encode(record: Partial<JobRecord>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(record)) {
    if (value === undefined) continue;
    fields[name] = name === 'status' ? (value as string) : JSON.stringify(value);
  }
  return fields;
}

function decode(fields: Record<string, string>): JobRecord {
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    record[name] = name === 'status' ? value : JSON.parse(value);
  }
  return record as unknown as JobRecord;
}
