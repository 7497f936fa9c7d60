import 'reflect-metadata';
import { IsInt, IsNotEmpty, IsString, Min } from 'class-validator';
import { CommonEnv } from './common-env';
import { InvalidConfigurationError, validateEnv } from './validate-env';

class SampleEnv extends CommonEnv {
  @IsInt({ message: 'WORKERS must be an integer' })
  @Min(1, { message: 'WORKERS must be at least 1' })
  WORKERS: number = 2;

  @IsString()
  @IsNotEmpty()
  NAME: string = 'sample';
}

const secrets = { S3_ACCESS_KEY: 'access', S3_SECRET_KEY: 'very-secret-value' };

describe('validateEnv', () => {
  const validate = validateEnv(SampleEnv);

  it('fills defaults and converts numbers from environment strings', () => {
    const env = validate({ ...secrets, WORKERS: '4' });
    expect(env.WORKERS).toBe(4);
    expect(env.NAME).toBe('sample');
    expect(env.S3_BUCKET_NAME).toBe('canais');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
  });

  it('names every bad variable in one error and never echoes a value', () => {
    let error: unknown;
    try {
      validate({ S3_ACCESS_KEY: 'access', WORKERS: '0', REDIS_URL: 'http://very-secret-value' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('S3_SECRET_KEY');
    expect(message).toContain('WORKERS must be at least 1');
    expect(message).toContain('REDIS_URL');
    expect(message).not.toContain('very-secret-value');
  });
});
