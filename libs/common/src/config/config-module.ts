import { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ClassConstructor } from 'class-transformer';
import { warnAboutUnknownVariables } from './known-variables';
import { validateEnv } from './validate-env';

/**
 * The process's configuration: the environment, then the file ENV_FILE (default `.env` in the
 * working directory) for whatever the environment leaves unset, validated against `envClass`.
 * ENV_FILE=/dev/null reads no file, as the tests do so a developer's .env never leaks into them.
 * A variable with one of the service's prefixes that nothing reads gets a warning.
 */
export function configModuleFor<T extends object>(envClass: ClassConstructor<T>): Promise<DynamicModule> {
  return ConfigModule.forRoot({
    isGlobal: true,
    cache: true,
    envFilePath: process.env.ENV_FILE ?? '.env',
    validate: (raw: Record<string, unknown>) => {
      const env = validateEnv(envClass)(raw);
      warnAboutUnknownVariables(raw, envClass);
      return env;
    },
  });
}
