import { CommonEnv } from '@app/common';
import { IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

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

  @IsInt({ message: 'NODE_HEALTH_PORT must be an integer' })
  @Min(1, { message: 'NODE_HEALTH_PORT must be between 1 and 65535' })
  @Max(65535, { message: 'NODE_HEALTH_PORT must be between 1 and 65535' })
  NODE_HEALTH_PORT: number = 3001;

  // Loopback keeps /health and /metrics off the network where nothing outside the box probes them.
  @IsString()
  @IsNotEmpty({ message: 'NODE_HEALTH_HOST must not be empty' })
  NODE_HEALTH_HOST: string = '0.0.0.0';

  // The worker stops a job at its deadline; a worker that has not reported by deadline + this is killed.
  @IsInt({ message: 'JOB_DEADLINE_GRACE_S must be an integer' })
  @Min(1, { message: 'JOB_DEADLINE_GRACE_S must be at least 1' })
  JOB_DEADLINE_GRACE_S: number = 30;

  @IsInt({ message: 'SHUTDOWN_GRACE_S must be an integer' })
  @Min(0, { message: 'SHUTDOWN_GRACE_S must be at least 0' })
  SHUTDOWN_GRACE_S: number = 600;

  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'WORKER_PYTHON must not be empty' })
  WORKER_PYTHON?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'WORKER_DIR must not be empty' })
  WORKER_DIR?: string;

  // Whisper models load at start; a worker that is not ready by then is restarted.
  @IsInt({ message: 'WORKER_READY_TIMEOUT_S must be an integer' })
  @Min(1, { message: 'WORKER_READY_TIMEOUT_S must be at least 1' })
  WORKER_READY_TIMEOUT_S: number = 180;
}
