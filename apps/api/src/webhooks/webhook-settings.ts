import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_DELAYS_MS, parseAllowlist, validateEnv } from '@app/common';
import { IsInt, Matches, Max, Min, Validate, ValidationArguments, ValidatorConstraint, ValidatorConstraintInterface } from 'class-validator';

export const WEBHOOK_SETTINGS = Symbol('WEBHOOK_SETTINGS');

const DEFAULT_RETRY_DELAYS_MS = WEBHOOK_RETRY_DELAYS_MS.join(',');

@ValidatorConstraint({ name: 'fewDelays' })
class FewDelays implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && value.split(',').length < WEBHOOK_MAX_ATTEMPTS;
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must hold at most ${WEBHOOK_MAX_ATTEMPTS - 1} delays`;
  }
}

class WebhookEnv {
  @Validate(FewDelays)
  @Matches(/^\s*\d+\s*(,\s*\d+\s*)*$/, {
    message: 'WEBHOOK_RETRY_DELAYS_MS must be milliseconds separated by commas, e.g. 1000,5000,30000',
  })
  WEBHOOK_RETRY_DELAYS_MS: string = DEFAULT_RETRY_DELAYS_MS;

  @IsInt({ message: 'WEBHOOK_TIMEOUT_MS must be an integer' })
  @Min(100, { message: 'WEBHOOK_TIMEOUT_MS must be between 100 and 120000' })
  @Max(120000, { message: 'WEBHOOK_TIMEOUT_MS must be between 100 and 120000' })
  WEBHOOK_TIMEOUT_MS: number = 10000;
}

export interface WebhookSettings {
  /** Unset: the API refuses webhook_url at submission, and a delivery found without it fails. */
  secret?: string;
  /** Wait before each retry; a delivery is tried once more than there are delays. */
  retryDelaysMs: number[];
  timeoutMs: number;
  allowlist: string[];
}

/** A variable's value from the process's configuration (ConfigService in the API). */
export type EnvReader = (name: string) => string | undefined;

/** Reads and validates the webhook variables; a bad one stops the API at start, named. */
export function webhookSettingsFrom(read: EnvReader): WebhookSettings {
  const raw: Record<string, unknown> = {};
  for (const name of ['WEBHOOK_RETRY_DELAYS_MS', 'WEBHOOK_TIMEOUT_MS']) {
    const value = read(name);
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const env = validateEnv(WebhookEnv)(raw);
  const secret = read('WEBHOOK_SECRET');
  return {
    secret: secret || undefined,
    retryDelaysMs: env.WEBHOOK_RETRY_DELAYS_MS.split(',').map((delay) => Number(delay.trim())),
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    allowlist: parseAllowlist(read('PRIVATE_URL_ALLOWLIST')),
  };
}
