import { errorReason } from '@app/common';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { ApiEnv } from '../config/api-env';
import { StorageService } from '../storage/storage.service';

/** Where uploaded inputs live; a lifecycle rule on it removes them after UPLOAD_RETENTION_HOURS. */
export const UPLOADS_PREFIX = 'uploads/';
const LIFECYCLE_RULE_ID = 'api-gpu-uploads-expiry';

export interface UploadTicket {
  upload_url: string;
  method: 'PUT';
  s3_url: string;
  key: string;
  expires_in: number;
  expires_at: string;
  retention_hours: number;
}

/** Client files into the bucket, under uploads/, for jobs to read as s3:// inputs. */
@Injectable()
export class UploadsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UploadsService.name);
  private readonly retentionHours: number;
  private readonly urlExpiryS: number;

  constructor(
    private readonly storage: StorageService,
    config: ConfigService<ApiEnv, true>,
  ) {
    this.retentionHours = config.get('UPLOAD_RETENTION_HOURS', { infer: true });
    this.urlExpiryS = config.get('UPLOAD_URL_EXPIRY_S', { infer: true });
  }

  /**
   * S3 lifecycle rules count whole days, so the retention is rounded up to one. A bucket that
   * refuses the rule does not stop the API: uploads then stay until removed by hand, as logged.
   */
  async onApplicationBootstrap(): Promise<void> {
    const days = Math.ceil(this.retentionHours / 24);
    await this.storage.expireUnder(LIFECYCLE_RULE_ID, UPLOADS_PREFIX, days).catch((error: unknown) => {
      this.logger.warn(
        `uploads/ expiry not set (${errorReason(error)}); uploaded files are kept until removed`,
      );
    });
  }

  async ticket(filename = 'file'): Promise<UploadTicket> {
    const key = this.newKey(filename);
    const expiresAt = new Date(Date.now() + this.urlExpiryS * 1000);
    return {
      upload_url: await this.storage.presignPut(key, this.urlExpiryS),
      method: 'PUT',
      s3_url: this.storage.s3Url(key),
      key,
      expires_in: this.urlExpiryS,
      expires_at: expiresAt.toISOString(),
      retention_hours: this.retentionHours,
    };
  }

  /** Stores a file the API received itself; returns its s3:// URL. */
  async store(localPath: string, filename: string, contentType: string): Promise<string> {
    const key = this.newKey(filename);
    await this.storage.putFile(key, localPath, contentType);
    return this.storage.s3Url(key);
  }

  private newKey(filename: string): string {
    // eslint-disable-next-line no-control-regex
    const safe = filename.replace(/[/\\\u0000-\u001f\u007f]/g, '_').slice(-200) || 'file';
    return `${UPLOADS_PREFIX}${randomUUID()}/${safe}`;
  }
}
