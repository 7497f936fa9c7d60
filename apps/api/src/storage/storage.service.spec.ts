import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { ApiEnv } from '../config/api-env';
import { StorageService } from './storage.service';

/** The test MinIO (scripts/test-env.sh), reached as 127.0.0.1 by the service and as `localhost` by clients. */
const endpoint = process.env.S3_ENDPOINT_URL ?? 'http://127.0.0.1:19000';
const bucket = process.env.S3_BUCKET_NAME ?? 'api-gpu-test';

function storage(overrides: Partial<ApiEnv> = {}): StorageService {
  const env: Partial<ApiEnv> = {
    S3_ENDPOINT_URL: endpoint,
    S3_BUCKET_NAME: bucket,
    S3_REGION: process.env.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY: process.env.S3_ACCESS_KEY,
    S3_SECRET_KEY: process.env.S3_SECRET_KEY,
    ...overrides,
  };
  return new StorageService({ get: (name: keyof ApiEnv) => env[name] } as unknown as ConfigService<ApiEnv, true>);
}

describe('StorageService', () => {
  const services: StorageService[] = [];
  const make = (overrides: Partial<ApiEnv> = {}) => {
    const service = storage(overrides);
    services.push(service);
    return service;
  };
  afterAll(() => services.forEach((service) => service.onApplicationShutdown()));

  it('tells object URLs by one rule: S3_PUBLIC_URL, else the endpoint and the bucket, keys quoted as the worker quotes them', () => {
    expect(make().publicUrl("out/a b/ação (1)!.srt")).toBe(`${endpoint}/${bucket}/out/a%20b/a%C3%A7%C3%A3o%20%281%29%21.srt`);
    const behindCdn = make({ S3_PUBLIC_URL: 'https://cdn.example.com/media/' });
    expect(behindCdn.publicUrl('out/v.mp4')).toBe('https://cdn.example.com/media/out/v.mp4');
    expect(behindCdn.isPublicUrl('https://cdn.example.com/media/in/v.mp4')).toBe(true);
    expect(behindCdn.isPublicUrl('https://cdn.example.com/other/v.mp4')).toBe(false);
    expect(behindCdn.isPublicUrl(`${endpoint}/${bucket}/in/v.mp4`)).toBe(false);
    expect(make().isPublicUrl(`${endpoint}/${bucket}/in/v.mp4`)).toBe(true);
    expect(make().isPublicUrl(`${endpoint}/${bucket}-other/in/v.mp4`)).toBe(false);
    expect(make().isPublicUrl('not a url')).toBe(false);
  });

  it('writes result files under a path, answers their public URLs, and removes them again', async () => {
    const service = make();
    const path = `storage-spec/${randomUUID()}`;
    const urls = await service.putResults(path, [{ filename: 'a b.txt', content: Buffer.from('olá'), contentType: 'text/plain; charset=utf-8' }]);
    expect(urls).toEqual({ 'a b.txt': `${endpoint}/${bucket}/${path}/a%20b.txt` });
    expect(await service.getText(`${path}/a b.txt`)).toBe('olá');
    await service.removeResults(path, ['a b.txt', 'never-written.txt']);
    await expect(service.getText(`${path}/a b.txt`)).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('signs upload URLs for the host of a path-style S3_PUBLIC_URL, and the store accepts a PUT sent there', async () => {
    const publicHost = endpoint.replace('127.0.0.1', 'localhost');
    const service = make({ S3_PUBLIC_URL: `${publicHost}/${bucket}` });
    const key = `storage-spec/${randomUUID()}/upload.txt`;
    const url = await service.presignPut(key, 60);
    expect(url.startsWith(`${publicHost}/${bucket}/${key}?`)).toBe(true);
    const put = await fetch(url, { method: 'PUT', body: 'enviado' });
    expect(put.status).toBe(200);
    expect(await service.getText(key)).toBe('enviado');
    await service.removeResults('', [key]);
  });

  it('signs upload URLs for the endpoint when S3_PUBLIC_URL is not the bucket path-style', async () => {
    const service = make({ S3_PUBLIC_URL: 'https://cdn.example.com/media' });
    const url = await service.presignPut('uploads/x.txt', 60);
    expect(url.startsWith(`${endpoint}/${bucket}/uploads/x.txt?`)).toBe(true);
  });
});
