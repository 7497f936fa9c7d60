import { CommonEnv } from '@app/common';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

export class GpuNodeEnv extends CommonEnv {
  // Defaults to the host name, which is unique per pod in Kubernetes and per box otherwise.
  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
    message: 'NODE_ID must be 1-63 characters of letters, digits, ".", "_" or "-"',
  })
  NODE_ID?: string;

  @IsInt({ message: 'NODE_CONCURRENCY must be an integer' })
  @Min(1, { message: 'NODE_CONCURRENCY must be at least 1' })
  @Max(64, { message: 'NODE_CONCURRENCY must be at most 64' })
  NODE_CONCURRENCY: number = 1;

  @IsInt({ message: 'HEARTBEAT_INTERVAL_MS must be an integer' })
  @Min(200, { message: 'HEARTBEAT_INTERVAL_MS must be at least 200' })
  HEARTBEAT_INTERVAL_MS: number = 5000;
}
