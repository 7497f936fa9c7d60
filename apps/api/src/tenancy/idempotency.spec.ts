import { HttpException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TestRedis } from '../../../../test/support/processes';
import { IdempotentSubmissions, fingerprintOf } from './idempotency';

describe('IdempotentSubmissions (real Redis)', () => {
  let server: TestRedis;
  let redis: Redis;
  let submissions: IdempotentSubmissions;
  const request = { operation: 'caption', input: { url_video: 'v', path: 'p/' }, options: { webhookUrl: undefined } };

  beforeAll(async () => {
    server = await TestRedis.create();
    await server.start();
    redis = new Redis(server.url);
    submissions = new IdempotentSubmissions(redis, { get: () => 24 } as unknown as ConfigService<never, true>);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.dispose();
  });

  it('fingerprints a request whatever the order of its fields', () => {
    expect(fingerprintOf({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(fingerprintOf({ a: { c: null, d: [1, { e: 3, f: 2 }] }, b: 1 }));
    expect(fingerprintOf({ a: [1, 2] })).not.toBe(fingerprintOf({ a: [2, 1] }));
    expect(fingerprintOf({ a: 1, b: undefined })).toBe(fingerprintOf({ a: 1 }));
  });

  it('gives a repeat the first job, and refuses another request under the key with 422', async () => {
    const key = randomUUID();
    const first = await submissions.claim('alice', key, request);
    expect(first.kind).toBe('new');
    if (first.kind === 'new') await first.accepted('job-1');
    expect(await submissions.claim('alice', key, structuredClone(request))).toEqual({ kind: 'existing', jobId: 'job-1' });
    const changed = await submissions.claim('alice', key, { ...request, input: { url_video: 'other' } }).catch((error: unknown) => error);
    expect(changed).toBeInstanceOf(HttpException);
    expect((changed as HttpException).getStatus()).toBe(422);
    expect((await submissions.claim('bob', key, request)).kind).toBe('new');
  });

  it('makes a duplicate wait while the first is being accepted, then gives it that job', async () => {
    const key = randomUUID();
    const first = await submissions.claim('alice', key, request);
    const duplicate = submissions.claim('alice', key, request);
    if (first.kind === 'new') await first.accepted('job-2');
    expect(await duplicate).toEqual({ kind: 'existing', jobId: 'job-2' });
  });

  it('frees the key when the first request is refused, so a retry is a new submission', async () => {
    const key = randomUUID();
    const first = await submissions.claim('alice', key, request);
    const duplicate = submissions.claim('alice', key, request);
    if (first.kind === 'new') await first.abandoned();
    expect((await duplicate).kind).toBe('new');
  });

  it('lets exactly one of many concurrent claims be new', async () => {
    const key = randomUUID();
    const claims = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const claim = await submissions.claim('alice', key, request);
        if (claim.kind === 'new') await claim.accepted('job-3');
        return claim.kind;
      }),
    );
    expect(claims.filter((kind) => kind === 'new')).toHaveLength(1);
  });
});
