import {
  DeleteObjectsCommand,
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
const WRITE_TIMEOUT_MS = 60_000;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

/** A file the API writes into the bucket itself (a transcript it built from RunPod's answer). */
export interface ResultFile {
  filename: string;
  content: Buffer;
  contentType: string;
}

/** The parts of an HTTP request the SDK builds that say where it goes (@smithy/protocol-http's HttpRequest). */
interface RequestAddress {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
}

/**
 * The API's side of MinIO/S3: the one client for the configured bucket, and the one rule for the
 * address clients read its objects at (S3_PUBLIC_URL, else the endpoint's path-style address of the
 * bucket). Every module that reads or writes the bucket, or tells its URLs, goes through here.
 */
@Injectable()
export class StorageService implements OnApplicationShutdown {
  readonly bucket: string;
  private readonly s3: S3Client;
  private readonly endpoint: URL;
  /** Where clients read the bucket's objects, without a trailing slash, as the worker's storage.py writes it. */
  private readonly publicPrefix: string;
  private readonly publicBase: URL;
  /**
   * The host presigned URLs are signed for, when S3_PUBLIC_URL is the bucket's path-style address on
   * another host than the endpoint (a proxy in front of MinIO): clients must send exactly that host.
   */
  private readonly signingBase?: URL;

  constructor(config: ConfigService<ApiEnv, true>) {
    this.bucket = config.get('S3_BUCKET_NAME', { infer: true });
    const endpoint = config.get('S3_ENDPOINT_URL', { infer: true });
    this.endpoint = new URL(endpoint);
    this.s3 = new S3Client({
      endpoint,
      region: config.get('S3_REGION', { infer: true }),
      forcePathStyle: true,
      credentials: {
        accessKeyId: config.get('S3_ACCESS_KEY', { infer: true }),
        secretAccessKey: config.get('S3_SECRET_KEY', { infer: true }),
      },
    });
    const publicUrl = config.get('S3_PUBLIC_URL', { infer: true });
    this.publicPrefix = (publicUrl ?? `${endpoint}/${this.bucket}`).replace(/\/+$/, '');
    this.publicBase = new URL(`${this.publicPrefix}/`);
    if (publicUrl && this.publicBase.pathname.endsWith(`/${this.bucket}/`)) this.signingBase = new URL('../', this.publicBase);
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

  /** The URL a client downloads `key` from: the public address plus the key, quoted as the worker's storage.py quotes it. */
  publicUrl(key: string): string {
    return `${this.publicPrefix}/${quoteKey(key)}`;
  }

  /**
   * Whether `url` names an object of this bucket at its public address. The worker reads such an
   * object through S3 rather than over HTTP, so a private address there (the local MinIO) is no risk.
   */
  isPublicUrl(url: string): boolean {
    try {
      const parsed = new URL(url);
      return parsed.origin === this.publicBase.origin && parsed.pathname.startsWith(this.publicBase.pathname);
    } catch {
      return false;
    }
  }

  async putFile(key: string, path: string, contentType: string): Promise<void> {
    const { size } = await stat(path);
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: createReadStream(path), ContentLength: size, ContentType: contentType }),
    );
  }

  /** Writes each file under `path` (as a job's outputs are named); returns each file's public URL by filename. */
  async putResults(path: string, files: ResultFile[]): Promise<Record<string, string>> {
    const urls: Record<string, string> = {};
    for (const { filename, content, contentType } of files) {
      const key = objectKey(path, filename);
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: content, ContentType: contentType }), {
        abortSignal: AbortSignal.timeout(WRITE_TIMEOUT_MS),
      });
      urls[filename] = this.publicUrl(key);
    }
    return urls;
  }

  /** Removes `path` + each filename; names that do not exist are no error. */
  async removeResults(path: string, filenames: string[]): Promise<void> {
    for (let index = 0; index < filenames.length; index += DELETE_BATCH) {
      const Objects = filenames.slice(index, index + DELETE_BATCH).map((filename) => ({ Key: objectKey(path, filename) }));
      await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } }), {
        abortSignal: AbortSignal.timeout(WRITE_TIMEOUT_MS),
      });
    }
  }

  async getText(key: string): Promise<string> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return (await object.Body?.transformToString('utf-8')) ?? '';
  }

  /** A URL a client can PUT one object to, without credentials, for `expiresInS` seconds. */
  presignPut(key: string, expiresInS: number): Promise<string> {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key });
    const signingBase = this.signingBase;
    if (signingBase) {
      // In the build step, ahead of the host header's middleware and the signing: the signature covers the host.
      command.middlewareStack.add(
        (next) => (args) => {
          readdress(args.request as RequestAddress, this.endpoint, signingBase);
          return next(args);
        },
        { step: 'build', priority: 'high', name: 'publicAddress' },
      );
    }
    return getSignedUrl(this.s3, command, { expiresIn: expiresInS });
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
    this.s3.destroy();
  }
}

/** Moves a request built for the endpoint to the same path under `base` (another host, maybe another prefix). */
function readdress(request: RequestAddress, endpoint: URL, base: URL): void {
  const endpointPrefix = endpoint.pathname.replace(/\/+$/, '');
  const path = request.path.startsWith(`${endpointPrefix}/`) ? request.path.slice(endpointPrefix.length) : request.path;
  request.protocol = base.protocol;
  request.hostname = base.hostname;
  request.port = base.port ? Number(base.port) : undefined;
  request.path = `${base.pathname.replace(/\/+$/, '')}${path}`;
}

function objectKey(path: string, filename: string): string {
  return !path || path.endsWith('/') ? `${path}${filename}` : `${path}/${filename}`;
}

/** Python's urllib.parse.quote(key, safe='/'): encodeURIComponent also spares !'()*, quote does not. */
function quoteKey(key: string): string {
  return key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}
