import { DeleteObjectsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiEnv } from '../config/api-env';
import type { TranscriptUpload } from './stock-whisper';

const UPLOAD_TIMEOUT_MS = 60_000;

/**
 * The API's own writes to the results bucket: the transcript files it builds for stock-whisper jobs
 * (under the same keys and public URLs as the project's worker gives them: `path` + filename,
 * URL-quoted, as storage.py does), and the removal of what a failed split batch had written.
 */
@Injectable()
export class ResultStorage implements OnApplicationShutdown {
  private readonly s3: S3Client;
  private readonly bucket: string;
  private readonly publicUrl: string;

  constructor(config: ConfigService<ApiEnv, true>) {
    this.bucket = config.get('S3_BUCKET_NAME', { infer: true });
    const endpoint = config.get('S3_ENDPOINT_URL', { infer: true });
    this.publicUrl = (config.get('S3_PUBLIC_URL', { infer: true }) ?? `${endpoint}/${this.bucket}`).replace(/\/+$/, '');
    this.s3 = new S3Client({
      endpoint,
      region: config.get('S3_REGION', { infer: true }),
      forcePathStyle: true,
      credentials: {
        accessKeyId: config.get('S3_ACCESS_KEY', { infer: true }),
        secretAccessKey: config.get('S3_SECRET_KEY', { infer: true }),
      },
    });
  }

  /** Uploads every file under `path`; returns each file's public URL by filename. */
  async upload(path: string, uploads: TranscriptUpload[]): Promise<Record<string, string>> {
    const urls: Record<string, string> = {};
    for (const { filename, content, contentType } of uploads) {
      const key = objectKey(path, filename);
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: content, ContentType: contentType }),
        { abortSignal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS) },
      );
      urls[filename] = `${this.publicUrl}/${quoteKey(key)}`;
    }
    return urls;
  }

  /** Removes `path` + each filename; names that do not exist are no error. */
  async remove(path: string, filenames: string[]): Promise<void> {
    for (let index = 0; index < filenames.length; index += 1000) {
      const Objects = filenames.slice(index, index + 1000).map((filename) => ({ Key: objectKey(path, filename) }));
      await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } }), {
        abortSignal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
      });
    }
  }

  onApplicationShutdown(): void {
    this.s3.destroy();
  }
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
