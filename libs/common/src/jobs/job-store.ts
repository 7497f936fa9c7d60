import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.module';
import { JOB_EVENTS_CHANNEL, JOB_KEY_PREFIX, jobKey } from './job-keys';
import type { JobRecord, JobUpdate } from './job-record';
import { JobStatus, TERMINAL_JOB_STATUSES, isTerminal } from './job-status';

/**
 * Sets fields of a job record only if the job exists and its status is one of the allowed ones,
 * atomically, then announces the change as a job event (job-events.ts): the record's id, status,
 * progress and parent, so that listeners skip what does not concern them without reading the
 * record. A cancel and a completion that race each other thus resolve to exactly one winner,
 * whichever process they come from.
 *
 * A change of a part of a split batch, when asked to (ARGV[5] = 1), also brings its parent, if still
 * allowed to change, up to date in the same step: the parts' progress weighted by their images, and
 * IN_PROGRESS from the first part's start. Progress is thus written once per tick, by whoever writes
 * the part's, and no other process reads anything for it. The parent's and the other parts' keys are
 * derived here, from the records, which a single Redis (this project's, as Bull's) allows.
 *
 * KEYS[1] the record; ARGV[1] allowed statuses, comma-separated, or "*"; ARGV[2] TTL in ms, or 0
 * to keep; ARGV[3] events channel; ARGV[4] job id; ARGV[5] 1 to bring a parent up to date, else 0;
 * ARGV[6] the key prefix of records; ARGV[7..] field, value pairs.
 * Returns 1 when applied, 0 when there is no such job, -1 when its status forbids the change.
 */
const TRANSITION_SCRIPT = `
local function allowed(status)
  if ARGV[1] == '*' then return true end
  for candidate in string.gmatch(ARGV[1], '[^,]+') do
    if candidate == status then return true end
  end
  return false
end
local function announce(key, id)
  local now = redis.call('HMGET', key, 'status', 'progress', 'parentId')
  local event = '{"id":' .. cjson.encode(id) .. ',"status":' .. cjson.encode(now[1])
  if now[2] then event = event .. ',"progress":' .. now[2] end
  if now[3] then event = event .. ',"parentId":' .. now[3] end
  redis.call('PUBLISH', ARGV[3], event .. '}')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if not allowed(redis.call('HGET', KEYS[1], 'status')) then return -1 end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
announce(KEYS[1], ARGV[4])
if ARGV[5] ~= '1' then return 1 end
local parentId = redis.call('HGET', KEYS[1], 'parentId')
if not parentId then return 1 end
parentId = cjson.decode(parentId)
local parentKey = ARGV[6] .. parentId
local head = redis.call('HMGET', parentKey, 'status', 'parts', 'progress', 'startedAt')
if not head[1] or not head[2] or not allowed(head[1]) then return 1 end
local total, weighted, started = 0, 0, false
for _, part in ipairs(cjson.decode(head[2])) do
  local row = redis.call('HMGET', ARGV[6] .. part.id, 'progress', 'startedAt')
  total = total + part.count
  weighted = weighted + (tonumber(row[1]) or 0) * part.count
  if row[2] and (not started or row[2] < started) then started = row[2] end
end
if total == 0 then return 1 end
local changes = {}
local progress = math.floor(weighted / total)
if progress ~= tonumber(head[3]) then table.insert(changes, 'progress'); table.insert(changes, progress) end
if started and not head[4] then
  table.insert(changes, 'status'); table.insert(changes, '${JobStatus.InProgress}')
  table.insert(changes, 'startedAt'); table.insert(changes, started)
end
if #changes == 0 then return 1 end
redis.call('HSET', parentKey, unpack(changes))
announce(parentKey, parentId)
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

  /**
   * Applies `update` if the job is still active (neither ended nor cancelled); on a part of a split
   * batch, brings the parent's progress and start up to date in the same step.
   */
  updateActive(jobId: string, update: JobUpdate): Promise<TransitionOutcome> {
    return this.transition(jobId, ACTIVE_STATUSES, update, { rollUp: true });
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
    return this.transition(jobId, ACTIVE_STATUSES, { endedAt: new Date().toISOString(), ...update, status }, { rollUp: true, ttlMs: retentionMs });
  }

  /** Applies `update` whatever the status, e.g. the webhook outcome of an ended job. */
  annotate(jobId: string, update: JobUpdate): Promise<TransitionOutcome> {
    return this.transition(jobId, '*', update);
  }

  private async transition(
    jobId: string,
    allowedFrom: readonly JobStatus[] | '*',
    update: JobUpdate,
    { rollUp = false, ttlMs = 0 }: { rollUp?: boolean; ttlMs?: number } = {},
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
      rollUp ? '1' : '0',
      JOB_KEY_PREFIX,
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
