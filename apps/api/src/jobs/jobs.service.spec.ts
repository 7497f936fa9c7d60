import { JobEnder, JobOperation, JobRecord, JobStatus, JobStore } from '@app/common';
import { HttpException, HttpStatus } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { JobAdmission } from '../admission/job-admission.service';
import { ApiEnv } from '../config/api-env';
import { ExecutorRefusedError } from '../executors/executor';
import { ExecutorSelector } from '../executors/executor-selector';
import { StorageService } from '../storage/storage.service';
import { ClientIdentity, runAsClient } from '../tenancy/client-identity';
import { IdempotentSubmissions } from '../tenancy/idempotency';
import { JobEventsService } from './job-events.service';
import { JobsService } from './jobs.service';

const env: Partial<ApiEnv> = {
  PRIVATE_URL_ALLOWLIST: '',
  SYNC_TIMEOUT_S: 300,
  MAX_IMAGES: 3,
  MAX_DURACAO_S: 60,
  WEBHOOK_SECRET: undefined,
  S3_ENDPOINT_URL: 'http://127.0.0.1:9000',
  S3_BUCKET_NAME: 'canais',
  S3_REGION: 'us-east-1',
  S3_ACCESS_KEY: 'access',
  S3_SECRET_KEY: 'secret',
};

/** The service over stand-ins for Redis, the job store, JobEnder, the job events and the executor choice. */
function setUp(stored: JobRecord | null = null) {
  const store = {
    create: jest.fn().mockResolvedValue(undefined),
    get: jest.fn().mockResolvedValue(stored),
    remove: jest.fn().mockResolvedValue(undefined),
  };
  const ender = { end: jest.fn().mockResolvedValue('applied') };
  const events = { waitForEnd: jest.fn().mockResolvedValue(null) };
  const executors = {
    choose: jest.fn().mockResolvedValue({ executor: 'local', reason: 'mode_local', failover: false }),
    submit: jest.fn().mockImplementation((record: JobRecord) => Promise.resolve(record)),
    cancel: jest.fn().mockResolvedValue(undefined),
  };
  const config = { get: (name: keyof ApiEnv) => env[name] } as unknown as ConfigService<ApiEnv, true>;
  let admitted = 0;
  const admission = { admit: jest.fn().mockImplementation(() => Promise.resolve({ jobId: `job-${++admitted}`, deadlineS: 600 })) };
  const service = new JobsService(
    store as unknown as JobStore,
    ender as unknown as JobEnder,
    events as unknown as JobEventsService,
    executors as unknown as ExecutorSelector,
    admission as unknown as JobAdmission,
    { keyOfRequest: () => undefined } as unknown as IdempotentSubmissions,
    new StorageService(config),
    { status: 'ready' } as unknown as Redis,
    config,
  );
  return { service, store, ender, executors };
}

// Inputs in the service's own bucket need no address check: no DNS in a unit spec.
const caption = { url_video: 'http://127.0.0.1:9000/canais/in/v.mp4', url_srt: 'http://127.0.0.1:9000/canais/in/s.srt', path: 'out/', output_filename: 'v.mp4' };
const answer = async (promise: Promise<unknown>) => {
  const error = (await promise.catch((caught: unknown) => caught)) as HttpException;
  expect(error).toBeInstanceOf(HttpException);
  return { status: error.getStatus(), body: error.getResponse() as Record<string, unknown> };
};

describe('JobsService', () => {
  it('writes the record before queueing the job, and answers 202 for an async submission', async () => {
    const { service, store, executors } = setUp();
    const reply = await service.submit({ operation: JobOperation.Caption, input: caption, options: { async: true } });
    expect(reply.status).toBe(HttpStatus.ACCEPTED);
    const record = store.create.mock.calls[0][0] as JobRecord;
    expect(record).toMatchObject({ operation: 'caption', status: 'IN_QUEUE', input: caption, executor: 'local', executorReason: 'mode_local' });
    expect(store.create.mock.invocationCallOrder[0]).toBeLessThan(executors.submit.mock.invocationCallOrder[0]);
    expect(reply.body).toMatchObject({ jobId: record.id, status: 'IN_QUEUE' });
  });

  it("refuses what the operator's limits and the webhook set-up forbid, before anything is written", async () => {
    const { service, store } = setUp();
    const images = Array.from({ length: 4 }, (_, index) => ({ id: `${index}`, image_url: 'http://127.0.0.1:9000/canais/i.jpg', duracao: 2 }));
    const tooMany = await answer(service.accept({ operation: JobOperation.Img2Vid, input: { images, path: 'p/' }, options: { async: false } }));
    expect(tooMany).toMatchObject({ status: 400, body: { message: 'images must contain no more than 3 elements' } });
    const tooLong = await answer(
      service.accept({ operation: JobOperation.Img2Vid, input: { images: [{ ...images[0], duracao: 61 }], path: 'p/' }, options: { async: false } }),
    );
    expect(tooLong.body.message).toBe('images[0].duracao must not be greater than 60');
    const composed = { images, narration_url: 'http://127.0.0.1:9000/canais/n.mp3', path: 'p/', output_filename: 'v.mp4' };
    const tooManyComposed = await answer(service.accept({ operation: JobOperation.Compose, input: composed, options: { async: false } }));
    expect(tooManyComposed).toMatchObject({ status: 400, body: { message: 'images must contain no more than 3 elements' } });
    const webhook = await answer(service.accept({ operation: JobOperation.Caption, input: caption, options: { async: false, webhookUrl: 'https://example.com/hook' } }));
    expect(webhook.body.message).toContain('webhook_url');
    const privateUrl = await answer(
      service.accept({ operation: JobOperation.Caption, input: { ...caption, url_srt: 'http://10.0.0.1/s.srt' }, options: { async: false } }),
    );
    expect(privateUrl).toMatchObject({ status: 400, body: { field: 'url_srt' } });
    expect(store.create).not.toHaveBeenCalled();
  });

  it('removes the record of a job no queue took, and answers 503', async () => {
    const { service, store, executors } = setUp();
    executors.submit.mockRejectedValue(new ExecutorRefusedError('local', 'Redis is away'));
    const refused = await answer(service.accept({ operation: JobOperation.Caption, input: caption, options: { async: false } }));
    expect(refused.status).toBe(503);
    expect(store.remove).toHaveBeenCalledWith((store.create.mock.calls[0][0] as JobRecord).id);
  });

  it('cancels through JobEnder, then has the executor stop the job; 409 once ended, 404 when unknown or another client\'s', async () => {
    const owner: ClientIdentity = { name: 'acme', role: 'client', limits: {} };
    const running: JobRecord = { id: 'j', operation: JobOperation.Caption, status: JobStatus.InProgress, input: caption, executor: 'local', client: 'acme', progress: 10, createdAt: '' };
    const { service, ender, executors, store } = setUp(running);
    expect((await answer(runAsClient({ ...owner, name: 'other' }, () => service.cancel('j')))).status).toBe(404);
    expect(ender.end).not.toHaveBeenCalled();
    await expect(runAsClient(owner, () => service.cancel('j'))).resolves.toEqual({ message: 'Job cancelled successfully', jobId: 'j' });
    expect(ender.end).toHaveBeenCalledWith(running, JobStatus.Cancelled);
    expect(executors.cancel).toHaveBeenCalledWith(running);

    ender.end.mockResolvedValue('refused');
    store.get.mockResolvedValue({ ...running, status: JobStatus.Completed });
    expect(await answer(runAsClient(owner, () => service.cancel('j')))).toMatchObject({ status: 409, body: { status: 'COMPLETED' } });
    store.get.mockResolvedValue(null);
    expect((await answer(runAsClient(owner, () => service.cancel('x')))).status).toBe(404);
  });
});
