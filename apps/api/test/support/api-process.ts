import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../../test/support/processes';

export const API_MAIN = join(REPO_ROOT, 'dist/apps/api/main.js');
export const NODE_MAIN = join(REPO_ROOT, 'dist/apps/gpu-node/main.js');
export const CONNECT_RECORDER = join(REPO_ROOT, 'apps/api/test/support/connect-recorder.mjs');

export async function objectKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}
