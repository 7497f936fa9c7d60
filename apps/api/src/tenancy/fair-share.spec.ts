import { ConfigService } from '@nestjs/config';
import Queue from 'bull';
import Redis from 'ioredis';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestRedis } from '../../../../test/support/processes';
import { ApiClients } from './api-clients.service';
import { FairShare } from './fair-share';

describe('FairShare (Bull priorities on a real Redis)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-gpu-fair-'));
  let server: TestRedis;
  let redis: Redis;
  let clients: ApiClients;
  const queues: Queue.Queue[] = [];

  const fairShare = (enabled: boolean) =>
    new FairShare(redis, clients, { get: () => (enabled ? 'true' : 'false') } as unknown as ConfigService<never, true>);

  /** A fresh queue, and a way to queue a job of a client on it as LocalExecutor does. */
  function queueOf(share: FairShare) {
    const queue = new Queue(`fair-${queues.length}-${Date.now()}`, server.url, { prefix: 'bull' });
    queues.push(queue);
    let sequence = 0;
    const add = async (client: string) => {
      const priority = await share.priorityFor(queue.name, client);
      await queue.add({ client }, { jobId: `${client}-${++sequence}`, ...(priority === undefined ? {} : { priority }) });
    };
    /** The waiting jobs' clients in the order the nodes will take them (Bull pops the wait list's right end). */
    const nextClients = async () => (await redis.lrange(`bull:${queue.name}:wait`, 0, -1)).reverse().map((id) => id.replace(/-\d+$/, ''));
    /** What a node does on taking the next job: off the wait list and out of the priority set. */
    const takeNext = async () => {
      const id = (await redis.rpop(`bull:${queue.name}:wait`)) as string;
      await redis.zrem(`bull:${queue.name}:priority`, id);
    };
    return { add, nextClients, takeNext };
  }

  beforeAll(async () => {
    server = await TestRedis.create();
    await server.start();
    redis = new Redis(server.url);
    const file = join(dir, 'keys.yaml');
    writeFileSync(file, 'clients:\n  - { name: heavy, key: heavy-key, limits: { weight: 2 } }\n');
    const env: Record<string, string> = { X_API_KEY: 'admin-key', API_KEYS_FILE: file };
    clients = new ApiClients({ get: (name: string) => env[name] } as unknown as ConfigService<never, true>);
  });

  afterAll(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    redis.disconnect();
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("puts a client's single job behind one of a client that queued many, not behind all", async () => {
    const { add, nextClients } = queueOf(fairShare(true));
    for (let i = 0; i < 10; i += 1) await add('a');
    await add('b');
    expect((await nextClients()).slice(0, 3)).toEqual(['a', 'b', 'a']);
  });

  it('keeps alternating as jobs are taken: a returning client is not sent to the back', async () => {
    const { add, nextClients, takeNext } = queueOf(fairShare(true));
    for (let i = 0; i < 10; i += 1) await add('a');
    await add('b');
    await takeNext();
    await takeNext();
    await add('b');
    await add('c');
    expect((await nextClients()).slice(0, 4)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('gives a client of weight 2 two slots for each of a weight-1 client', async () => {
    const { add, nextClients } = queueOf(fairShare(true));
    for (let i = 0; i < 6; i += 1) await add('a');
    for (let i = 0; i < 6; i += 1) await add('heavy');
    expect((await nextClients()).slice(0, 6)).toEqual(['a', 'heavy', 'heavy', 'a', 'heavy', 'heavy']);
  });

  it('queues first come, first served with FAIR_SHARE=false', async () => {
    const { add, nextClients } = queueOf(fairShare(false));
    for (let i = 0; i < 5; i += 1) await add('a');
    await add('b');
    expect(await nextClients()).toEqual(['a', 'a', 'a', 'a', 'a', 'b']);
  });
});
