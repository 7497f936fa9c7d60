import {
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  LifecycleRule,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ApiEnv } from '../config/api-env';

const PING_TIMEOUT_MS = 3000;

/** The API's side of MinIO/S3: one client for the configured bucket. */
@Injectable()
export class StorageService implements OnApplicationShutdown {
  readonly bucket: string;
  private readonly s3: S3Client;
  /** Signs URLs for clients: the host in S3_PUBLIC_URL when it is the bucket's path-style address. */
  private readonly publicS3: S3Client;

  constructor(config: ConfigService<ApiEnv, true>) {
    this.bucket = config.get('S3_BUCKET_NAME', { infer: true });
    const endpoint = config.get('S3_ENDPOINT_URL', { infer: true });
    const client = (url: string) =>
      new S3Client({
        endpoint: url,
        region: config.get('S3_REGION', { infer: true }),
        forcePathStyle: true,
        credentials: {
          accessKeyId: config.get('S3_ACCESS_KEY', { infer: true }),
          secretAccessKey: config.get('S3_SECRET_KEY', { infer: true }),
        },
      });
    this.s3 = client(endpoint);
    const publicUrl = config.get('S3_PUBLIC_URL', { infer: true })?.replace(/\/+$/, '');
    const bucketSuffix = `/${this.bucket}`;
    this.publicS3 =
      publicUrl?.endsWith(bucketSuffix) === true ? client(publicUrl.slice(0, -bucketSuffix.length)) : this.s3;
  }

  /** Resolves when the bucket answers; rejects with the reason when it does not. */
  async ping(): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }), {
      abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS),
    });
  }

  /** `s3://bucket/key`: how a job input names an object of this bucket. */
  s3Url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async putFile(key: string, path: string, contentType: string): Promise<void> {
    const { size } = await stat(path);
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: createReadStream(path), ContentLength: size, ContentType: contentType }),
    );
  }

  async getText(key: string): Promise<string> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return (await object.Body?.transformToString('utf-8')) ?? '';
  }

  /** A URL a client can PUT one object to, without credentials, for `expiresInS` seconds. */
  presignPut(key: string, expiresInS: number): Promise<string> {
    return getSignedUrl(this.publicS3, new PutObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInS });
  }

  /**
   * Keeps one lifecycle rule, `ruleId`, expiring objects under `prefix` after `days`; the bucket's
   * other rules are kept as they are (a lifecycle PUT replaces the whole configuration).
   */
  async expireUnder(ruleId: string, prefix: string, days: number): Promise<void> {
    const current = await this.s3
      .send(new GetBucketLifecycleConfigurationCommand({ Bucket: this.bucket }))
      .then((answer) => answer.Rules ?? [])
      .catch((error: { name?: string }) => {
        if (error.name === 'NoSuchLifecycleConfiguration') return [] as LifecycleRule[];
        throw error;
      });
    const rule: LifecycleRule = { ID: ruleId, Status: 'Enabled', Filter: { Prefix: prefix }, Expiration: { Days: days } };
    await this.s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: this.bucket,
        LifecycleConfiguration: { Rules: [...current.filter((other) => other.ID !== ruleId), rule] },
      }),
    );
  }

  onApplicationShutdown(): void {
    if (this.publicS3 !== this.s3) this.publicS3.destroy();
    this.s3.destroy();
  }
}
