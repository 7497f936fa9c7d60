import { ClassConstructor, plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';

export class InvalidConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidConfigurationError';
  }
}

/**
 * Builds the `validate` hook for `ConfigModule.forRoot`: environment strings become typed values,
 * defaults come from the class's initialisers, and every bad variable is named in one error.
 * Values are never echoed, because some of them are secrets.
 */
export function validateEnv<T extends object>(envClass: ClassConstructor<T>) {
  return (raw: Record<string, unknown>): T => {
    const env = plainToInstance(envClass, raw, {
      enableImplicitConversion: true,
      exposeDefaultValues: true,
    });
    const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: true });
    if (errors.length > 0) {
      throw new InvalidConfigurationError([...new Set(errors.flatMap(describe))]);
    }
    return env;
  };
}

function describe(error: ValidationError): string[] {
  const constraints = Object.values(error.constraints ?? {});
  return constraints.map((message) =>
    message.startsWith(error.property) ? message : `${error.property}: ${message}`,
  );
}
