import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnedProcess, REPO_ROOT } from '../../../test/support/processes';

const API_MAIN = join(REPO_ROOT, 'dist/apps/api/main.js');
const NODE_MAIN = join(REPO_ROOT, 'dist/apps/gpu-node/main.js');

const VALID = {
  X_API_KEY: 'config-test-key',
  S3_ACCESS_KEY: 'config-test-access',
  S3_SECRET_KEY: 'config-test-secret-value',
  REDIS_URL: 'redis://127.0.0.1:1',
  // Should validation ever let a case through, binding this documentation-only address fails at
  // once, so the test fails on its message instead of hanging on a server that started.
  PORT: '1',
  HOST: '192.0.2.1',
};

async function startAndFail(main: string, env: NodeJS.ProcessEnv) {
  const child = new OwnedProcess('node', [main], env).start();
  const code = await child.exitCode();
  return { code, output: child.output };
}

describe('configuration is validated at start', () => {
  it.each([
    ['X_API_KEY', { X_API_KEY: undefined }],
    ['X_API_KEY', { X_API_KEY: ' , ' }],
    ['S3_SECRET_KEY', { S3_SECRET_KEY: undefined }],
    ['PORT', { PORT: 'eighty' }],
    ['S3_ENDPOINT_URL', { S3_ENDPOINT_URL: 'minio:9000' }],
    ['S3_BUCKET_NAME', { S3_BUCKET_NAME: 'Bad_Bucket' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['SYNC_TIMEOUT_S', { SYNC_TIMEOUT_S: '0' }],
    ['JOB_RETENTION_HOURS', { JOB_RETENTION_HOURS: 'a day' }],
    ['MAX_BODY_MB', { MAX_BODY_MB: '1000' }],
    ['MAX_UPLOAD_MB', { MAX_UPLOAD_MB: '0' }],
    ['UPLOAD_RETENTION_HOURS', { UPLOAD_RETENTION_HOURS: 'forever' }],
    ['UPLOAD_URL_EXPIRY_S', { UPLOAD_URL_EXPIRY_S: '604801' }],
    ['MAX_IMAGES', { MAX_IMAGES: '501' }],
    ['MAX_DURACAO_S', { MAX_DURACAO_S: '601' }],
    ['PRIVATE_URL_ALLOWLIST', { PRIVATE_URL_ALLOWLIST: '10.0.0.5' }],
    ['WEBHOOK_SECRET', { WEBHOOK_SECRET: 'short' }],
  ])('the API exits naming %s', async (variable, override) => {
    const { code, output } = await startAndFail(API_MAIN, { ...VALID, ...override });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain(variable);
    expect(output).not.toContain(VALID.S3_SECRET_KEY);
  });

  it('reads what the environment leaves unset from ENV_FILE, and the environment wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-gpu-env-'));
    const envFile = join(dir, '.env');
    writeFileSync(envFile, 'X_API_KEY=from-the-file\nLOG_LEVEL=loud\n');
    try {
      const { code, output } = await startAndFail(API_MAIN, {
        ...VALID,
        X_API_KEY: undefined,
        ENV_FILE: envFile,
        PORT: 'eighty',
        LOG_LEVEL: 'warn',
      });
      expect(code).toBe(1);
      expect(output).toContain('PORT');
      expect(output).not.toContain('X_API_KEY');
      expect(output).not.toContain('LOG_LEVEL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns once about each variable with our prefix that nothing reads, from the environment or ENV_FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-gpu-env-'));
    const envFile = join(dir, '.env');
    writeFileSync(envFile, 'WHISPER_MODELS=large-v3\nNODE_ENV=production\n');
    try {
      // Valid, so the API gets as far as binding the documentation-only address, and fails there.
      const { output } = await startAndFail(API_MAIN, {
        ...VALID,
        ENV_FILE: envFile,
        S3_BUCKET: 'canais',
        RUNPOD_MAX_TIMEOUT: '480',
        POLLING_MAX_ATTEMPTS: '240',
      });
      expect(output).not.toContain('Invalid configuration');
      expect(output.match(/S3_BUCKET is set but no part of the service reads it/g)).toHaveLength(1);
      expect(output.match(/WHISPER_MODELS is set but no part of the service reads it/g)).toHaveLength(1);
      expect(output).not.toMatch(/(RUNPOD_MAX_TIMEOUT|POLLING_MAX_ATTEMPTS|NODE_ENV|S3_ACCESS_KEY) is set but/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the GPU node exits naming NODE_CONCURRENCY', async () => {
    const { code, output } = await startAndFail(NODE_MAIN, { ...VALID, NODE_CONCURRENCY: '0' });
    expect(code).toBe(1);
    expect(output).toContain('NODE_CONCURRENCY');
    expect(output).not.toContain(VALID.S3_SECRET_KEY);
  });
});
