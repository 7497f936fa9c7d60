import { validateEnv } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { IsInt, Max, Min } from 'class-validator';

/** Rate limiting, per API key (per client address for requests without a valid key). */
export class SecurityEnv {
  @IsInt({ message: 'RATE_LIMIT_MAX must be an integer' })
  @Min(1, { message: 'RATE_LIMIT_MAX must be at least 1' })
  RATE_LIMIT_MAX: number = 600;

  @IsInt({ message: 'RATE_LIMIT_WINDOW_S must be an integer' })
  @Min(1, { message: 'RATE_LIMIT_WINDOW_S must be between 1 and 86400' })
  @Max(86400, { message: 'RATE_LIMIT_WINDOW_S must be between 1 and 86400' })
  RATE_LIMIT_WINDOW_S: number = 60;
}

export function securityEnvFrom(config: ConfigService): SecurityEnv {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(new SecurityEnv())) {
    const value = config.get<unknown>(name);
    if (value !== undefined) raw[name] = value;
  }
  return validateEnv(SecurityEnv)(raw);
}
