import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnedProcess, REPO_ROOT, waitFor } from '../processes';
import type { TestS3 } from '../api-e2e';

const PYTHON = join(REPO_ROOT, '.venv/bin/python');
const SERVER = join(REPO_ROOT, 'test/support/fake-runpod/server.py');

export interface FakeRunPodCall {
  method: string;
  route: string;
  path: string;
  /** Seconds since the epoch, as the stand-in saw the request. */
  at: number;
}

export interface FakeRunPodJob {
  id: string;
  status: string;
  delayTime?: number;
  executionTime?: number;
  endpoint: string;
  input: Record<string, unknown>;
  executionTimeoutMs: number;
  ttlMs: number | null;
  cancelRequested: boolean;
}

/**
 * The RunPod stand-in (server.py) as a process of the test: RunPod's v2 API on a loopback port,
 * each job run by the real Python handler with the test MinIO's credentials in its own environment.
 */
export class FakeRunPod {
  readonly apiKey = `rpa_test_${Math.random().toString(36).slice(2)}`;
  private process?: OwnedProcess;
  private port = 0;
  private readonly workerTmp = mkdtempSync(join(tmpdir(), 'api-gpu-fake-runpod-'));

  constructor(
    private readonly s3: TestS3,
    private readonly stockEndpoints: string[] = [],
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}/v2`;
  }

  async start(): Promise<void> {
    this.process = new OwnedProcess(PYTHON, [SERVER], {
      FAKE_RUNPOD_API_KEY: this.apiKey,
      FAKE_RUNPOD_STOCK_ENDPOINTS: this.stockEndpoints.join(','),
      S3_ENDPOINT_URL: this.s3.endpoint,
      S3_ACCESS_KEY: this.s3.accessKey,
      S3_SECRET_KEY: this.s3.secretKey,
      S3_BUCKET_NAME: this.s3.bucket,
      PRIVATE_URL_ALLOWLIST: this.s3.hostPort,
      WORKER_TMP_DIR: this.workerTmp,
      WHISPER_DEVICE: 'cpu',
      HF_HUB_OFFLINE: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      BATCH_SIZE: '1',
    }).start();
    this.port = await waitFor('fake RunPod listening', () => {
      const match = /\{"port": (\d+)\}/.exec(this.process?.output ?? '');
      if (!this.process?.running) throw new Error(`fake RunPod exited: ${this.process?.output}`);
      return Promise.resolve(match ? Number(match[1]) : undefined);
    });
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    rmSync(this.workerTmp, { recursive: true, force: true });
  }

  get output(): string {
    return this.process?.output ?? '';
  }

  /** The next `count` calls of `routes` (run, status, cancel, health) answer `status`. */
  fault(status: number, count: number, routes: string[]): Promise<unknown> {
    return this.control('POST', 'faults', { status, count, routes });
  }

  settings(values: { queue_delay_s?: number; workers?: number }): Promise<unknown> {
    return this.control('POST', 'settings', values);
  }

  async calls(): Promise<FakeRunPodCall[]> {
    return ((await this.control('GET', 'log')) as { calls: FakeRunPodCall[] }).calls;
  }

  async jobs(): Promise<FakeRunPodJob[]> {
    return ((await this.control('GET', 'jobs')) as { jobs: FakeRunPodJob[] }).jobs;
  }

  async job(remoteId: string): Promise<FakeRunPodJob> {
    const job = (await this.jobs()).find((candidate) => candidate.id === remoteId);
    if (!job) throw new Error(`the stand-in has no job ${remoteId}`);
    return job;
  }

  private async control(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`http://127.0.0.1:${this.port}/_fake/${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`fake RunPod /_fake/${path}: ${response.status}`);
    return response.json();
  }
}
