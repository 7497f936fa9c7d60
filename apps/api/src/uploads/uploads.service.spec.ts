import { ConfigService } from '@nestjs/config';
import { StorageService } from '../storage/storage.service';
import { UploadsService } from './uploads.service';

function service(env: Record<string, number>) {
  const calls: unknown[][] = [];
  const storage = {
    presignPut: (key: string, expiresIn: number) => Promise.resolve(`https://s3.example/${key}?X-Amz-Expires=${expiresIn}`),
    s3Url: (key: string) => `s3://canais/${key}`,
    putFile: (...args: unknown[]) => Promise.resolve(void calls.push(['putFile', ...args])),
    expireUnder: (...args: unknown[]) => Promise.resolve(void calls.push(['expireUnder', ...args])),
  } as unknown as StorageService;
  const config = { get: (name: string) => env[name] } as unknown as ConfigService<never, true>;
  return { uploads: new UploadsService(storage, config), calls };
}

describe('UploadsService', () => {
  it('a ticket: a PUT URL valid UPLOAD_URL_EXPIRY_S, the s3:// URL of a fresh key under uploads/', async () => {
    const { uploads } = service({ UPLOAD_RETENTION_HOURS: 24, UPLOAD_URL_EXPIRY_S: 600 });
    const before = Date.now();
    const ticket = await uploads.ticket('entrevista ação.mp3');
    expect(ticket.key).toMatch(/^uploads\/[0-9a-f-]{36}\/entrevista ação\.mp3$/);
    expect(ticket.s3_url).toBe(`s3://canais/${ticket.key}`);
    expect(ticket.upload_url).toContain('X-Amz-Expires=600');
    expect(Date.parse(ticket.expires_at) - before).toBeGreaterThanOrEqual(600_000);
    expect(ticket).toMatchObject({ method: 'PUT', expires_in: 600, retention_hours: 24 });
    expect((await uploads.ticket('entrevista ação.mp3')).key).not.toBe(ticket.key);
  });

  it('a received file keeps its name, made safe for a key (no folders, no control characters)', async () => {
    const { uploads, calls } = service({ UPLOAD_RETENTION_HOURS: 24, UPLOAD_URL_EXPIRY_S: 600 });
    const url = await uploads.store('/tmp/x', '../pasta/a\u0007b.wav', 'audio/wav');
    expect(url).toMatch(/^s3:\/\/canais\/uploads\/[0-9a-f-]{36}\/\.\._pasta_a_b\.wav$/);
    expect(calls[0]).toEqual(['putFile', url.replace('s3://canais/', ''), '/tmp/x', 'audio/wav']);
    expect(await uploads.store('/tmp/y', '', 'audio/wav')).toMatch(/\/file$/);
  });

  it.each([
    [1, 1],
    [24, 1],
    [25, 2],
    [168, 7],
  ])('UPLOAD_RETENTION_HOURS %i expires uploads/ after %i whole day(s)', async (hours, days) => {
    const { uploads, calls } = service({ UPLOAD_RETENTION_HOURS: hours, UPLOAD_URL_EXPIRY_S: 600 });
    await uploads.onApplicationBootstrap();
    expect(calls).toEqual([['expireUnder', 'api-gpu-uploads-expiry', 'uploads/', days]]);
  });
});
