import 'reflect-metadata';
import { InvalidConfigurationError, validateEnv } from '@app/common';
import { GpuNodeEnv } from './gpu-node-env';

const secrets = { S3_ACCESS_KEY: 'access', S3_SECRET_KEY: 'secret' };

describe('GpuNodeEnv', () => {
  const validate = validateEnv(GpuNodeEnv);

  it('fills the node defaults', () => {
    const env = validate({ ...secrets });
    expect(env.NODE_HEALTH_PORT).toBe(3001);
    expect(env.SHUTDOWN_GRACE_S).toBe(600);
    expect(env.JOB_LOCK_MS).toBe(60000);
    expect(env.JOB_MAX_ATTEMPTS).toBe(3);
  });

  it.each([
    ['NODE_HEALTH_PORT', '70000'],
    ['SHUTDOWN_GRACE_S', '-1'],
    ['JOB_LOCK_MS', '10'],
    ['JOB_MAX_ATTEMPTS', '0'],
    ['WORKER_PYTHON', ''],
  ])('names %s when it is %p', (name, value) => {
    let error: unknown;
    try {
      validate({ ...secrets, [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as Error).message).toContain(name);
  });
});
