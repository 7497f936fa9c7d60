import 'reflect-metadata';
import { InvalidConfigurationError, WEBHOOK_RETRY_DELAYS_MS } from '@app/common';
import { webhookSettingsFrom } from './webhook-settings';

const configOf = (values: Record<string, string>) => (name: string) => values[name];

describe('webhookSettingsFrom', () => {
  it('uses the documented schedule and timeout when nothing is set', () => {
    const settings = webhookSettingsFrom(configOf({}));
    expect(settings.retryDelaysMs).toEqual([...WEBHOOK_RETRY_DELAYS_MS]);
    expect(settings.retryDelaysMs).toEqual([1_000, 5_000, 30_000, 120_000, 600_000]);
    expect(settings.timeoutMs).toBe(10_000);
    expect(settings.secret).toBeUndefined();
    expect(settings.allowlist).toEqual([]);
  });

  it('reads the variables', () => {
    const settings = webhookSettingsFrom(
      configOf({
        WEBHOOK_SECRET: 'a-secret-of-enough-length',
        WEBHOOK_RETRY_DELAYS_MS: ' 100, 200 ,300',
        WEBHOOK_TIMEOUT_MS: '2500',
        PRIVATE_URL_ALLOWLIST: '127.0.0.1:19000',
      }),
    );
    expect(settings).toEqual({
      secret: 'a-secret-of-enough-length',
      retryDelaysMs: [100, 200, 300],
      timeoutMs: 2500,
      allowlist: ['127.0.0.1:19000'],
    });
  });

  it.each([
    ['WEBHOOK_RETRY_DELAYS_MS', { WEBHOOK_RETRY_DELAYS_MS: '1s,5s' }],
    ['WEBHOOK_RETRY_DELAYS_MS', { WEBHOOK_RETRY_DELAYS_MS: '100,,200' }],
    ['WEBHOOK_RETRY_DELAYS_MS', { WEBHOOK_RETRY_DELAYS_MS: '-100' }],
    ['WEBHOOK_RETRY_DELAYS_MS', { WEBHOOK_RETRY_DELAYS_MS: Array.from({ length: 100 }, () => '10').join(',') }],
    ['WEBHOOK_TIMEOUT_MS', { WEBHOOK_TIMEOUT_MS: 'ten' }],
    ['WEBHOOK_TIMEOUT_MS', { WEBHOOK_TIMEOUT_MS: '50' }],
  ])('refuses a bad %s, naming it', (variable, values) => {
    expect(() => webhookSettingsFrom(configOf(values))).toThrow(InvalidConfigurationError);
    expect(() => webhookSettingsFrom(configOf(values))).toThrow(variable);
  });
});
