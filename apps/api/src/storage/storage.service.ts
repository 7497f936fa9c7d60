import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiEnv } from '../config/api-env';

const PING_TIMEOUT_MS = 3000;

/** The API's side of MinIO/S3: one client for the configured bucket. */
@Injectable()
export class StorageService implements OnApplicationShutdown {
  readonly bucket: string;
  private readonly s3: S3Client;

  constructor(config: ConfigService<ApiEnv, true>) {
    this.bucket = config.get('S3_BUCKET_NAME', { infer: true });
    this.s3 = new S3Client({
      endpoint: config.get('S3_ENDPOINT_URL', { infer: true }),
      region: config.get('S3_REGION', { infer: true }),
      forcePathStyle: true,
      credentials: {
        accessKeyId: config.get('S3_ACCESS_KEY', { infer: true }),
        secretAccessKey: config.get('S3_SECRET_KEY', { infer: true }),
      },
    });
  }

  /** Resolves when the bucket answers; rejects with the reason when it does not. */
  async ping(): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }), {
      abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS),
    });
  }

  onApplicationShutdown(): void {
    this.s3.destroy();
  }
}
