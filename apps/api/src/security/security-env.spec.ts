import { InvalidConfigurationError } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { securityEnvFrom } from './security-env';

const configWith = (values: Record<string, string>) => new ConfigService(values);

describe('securityEnvFrom', () => {
  it('defaults to 600 requests per 60 s', () => {
    expect(securityEnvFrom(configWith({}))).toEqual({ RATE_LIMIT_MAX: 600, RATE_LIMIT_WINDOW_S: 60 });
  });

  it('reads both variables as integers', () => {
    expect(securityEnvFrom(configWith({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_S: '3600' }))).toEqual({
      RATE_LIMIT_MAX: 5,
      RATE_LIMIT_WINDOW_S: 3600,
    });
  });

  it.each([
    [{ RATE_LIMIT_MAX: 'lots' }, 'RATE_LIMIT_MAX must be an integer'],
    [{ RATE_LIMIT_MAX: '0' }, 'RATE_LIMIT_MAX must be at least 1'],
    [{ RATE_LIMIT_WINDOW_S: '1.5' }, 'RATE_LIMIT_WINDOW_S must be an integer'],
    [{ RATE_LIMIT_WINDOW_S: '100000' }, 'RATE_LIMIT_WINDOW_S must be between 1 and 86400'],
  ])('refuses %p naming the variable', (values, message) => {
    let error: unknown;
    try {
      securityEnvFrom(configWith(values));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    const { problems } = error as InvalidConfigurationError;
    expect(problems).toContain(message);
    expect(problems.every((problem) => problem.startsWith(Object.keys(values)[0]))).toBe(true);
  });
});
