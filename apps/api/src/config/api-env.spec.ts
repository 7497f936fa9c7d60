import 'reflect-metadata';
import { unknownServiceVariables, validateEnv, variablesOf } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { runpodTimeoutsFrom } from '../executors/runpod-settings';
import { ApiEnv } from './api-env';

const required = { X_API_KEY: 'key', S3_ACCESS_KEY: 'access', S3_SECRET_KEY: 'secret' };

function timeouts(raw: Record<string, string>) {
  const env = validateEnv(ApiEnv)({ ...required, ...raw });
  return runpodTimeoutsFrom(new ConfigService<ApiEnv, true>(env));
}

describe('ApiEnv', () => {
  it('holds a synchronous request as long as the replaced service did (32 minutes)', () => {
    expect(validateEnv(ApiEnv)(required).SYNC_TIMEOUT_S).toBe(1920);
  });

  it('accepts NODE_ENV as the replaced service set it, and refuses a value it never had', () => {
    expect(validateEnv(ApiEnv)({ ...required, NODE_ENV: 'production' }).NODE_ENV).toBe('production');
    expect(() => validateEnv(ApiEnv)({ ...required, NODE_ENV: 'prod' })).toThrow(/NODE_ENV/);
  });

  it.each([
    [{}, { executionTimeoutS: 600, maxWaitS: 3600 }],
    [{ RUNPOD_MAX_TIMEOUT: '480' }, { executionTimeoutS: 480, maxWaitS: 3600 }],
    [{ RUNPOD_MAX_TIMEOUT: '480', RUNPOD_EXECUTION_TIMEOUT: '900' }, { executionTimeoutS: 900, maxWaitS: 3600 }],
    [{ POLLING_MAX_ATTEMPTS: '240' }, { executionTimeoutS: 600, maxWaitS: 1920 }],
    [{ POLLING_MAX_ATTEMPTS: '240', RUNPOD_MAX_WAIT_S: '100' }, { executionTimeoutS: 600, maxWaitS: 100 }],
  ])('reads the replaced service’s RunPod timeouts when ours are unset: %p', (raw, expected) => {
    expect(timeouts(raw)).toEqual(expected);
  });

  it.each([
    ['RUNPOD_MAX_TIMEOUT', 'soon'],
    ['RUNPOD_IDLE_TIMEOUT', '-1'],
    ['POLLING_MAX_ATTEMPTS', '0'],
  ])('names %s when it is %p', (name, value) => {
    expect(() => validateEnv(ApiEnv)({ ...required, [name]: value })).toThrow(name);
  });

  it('finds a misspelt variable with our prefix, and only those', () => {
    const env = { ...required, S3_BUCKET: 'canais', S3_BUCKET_NAME: 'canais', WHISPER_MODELS_DIR: '/m', PATH: '/bin', NODE_OPTIONS: '' };
    expect(unknownServiceVariables(env, variablesOf(ApiEnv))).toEqual(['S3_BUCKET']);
  });
});
