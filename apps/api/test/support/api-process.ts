import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { OwnedProcess, REPO_ROOT, freePort, waitFor } from '../../../../test/support/processes';

export const API_MAIN = join(REPO_ROOT, 'dist/apps/api/main.js');
export const NODE_MAIN = join(REPO_ROOT, 'dist/apps/gpu-node/main.js');
export const CONNECT_RECORDER = join(REPO_ROOT, 'apps/api/test/support/connect-recorder.mjs');

/** The test MinIO of `scripts/test-env.sh` (make test starts it), as the environment names it. */
export function testS3Env(bucket: string): NodeJS.ProcessEnv {
  const { S3_ENDPOINT_URL, S3_ACCESS_KEY, S3_SECRET_KEY } = process.env;
  if (!S3_ENDPOINT_URL || !S3_ACCESS_KEY || !S3_SECRET_KEY) {
    throw new Error('S3_ENDPOINT_URL, S3_ACCESS_KEY and S3_SECRET_KEY must be set: source scripts/test-env.sh');
  }
  return { S3_ENDPOINT_URL, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET_NAME: bucket, S3_REGION: 'us-east-1' };
}

export function s3ClientFor(env: NodeJS.ProcessEnv): S3Client {
  return new S3Client({
    endpoint: env.S3_ENDPOINT_URL,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY ?? '', secretAccessKey: env.S3_SECRET_KEY ?? '' },
  });
}

export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
    if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
  });
}

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

/** The built API as a child process on a free loopback port, answering /health before it is returned. */
export async function startApi(
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): Promise<{ api: OwnedProcess; baseUrl: string }> {
  const port = await freePort();
  const api = new OwnedProcess('node', [...nodeArgs, API_MAIN], {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...env,
  }).start();
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor(`API on :${port}`, async () => {
    if (!api.running) throw new Error(`API exited: ${api.output}`);
    const response = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2000) });
    return response.ok ? true : undefined;
  });
  return { api, baseUrl };
}
