import { CommonEnv } from '@app/common';
import { IsInt, IsNotEmpty, IsString, Matches, Max, Min } from 'class-validator';

export class ApiEnv extends CommonEnv {
  @IsInt({ message: 'PORT must be an integer' })
  @Min(1, { message: 'PORT must be between 1 and 65535' })
  @Max(65535, { message: 'PORT must be between 1 and 65535' })
  PORT: number = 3000;

  @IsString()
  @IsNotEmpty({ message: 'HOST must not be empty' })
  HOST: string = '0.0.0.0';

  // Comma-separated so keys can be rotated: add the new one, move clients, drop the old one.
  @IsString({ message: 'X_API_KEY is required' })
  @Matches(/^\s*[^,\s]+\s*(,\s*[^,\s]+\s*)*$/, {
    message: 'X_API_KEY is required: one key, or several separated by commas, none empty',
  })
  X_API_KEY: string;

  @IsString()
  CORS_ALLOW_ORIGINS: string = '*';

  @IsString()
  @IsNotEmpty()
  SERVICE_NAME: string = 'api-gpu';
}
