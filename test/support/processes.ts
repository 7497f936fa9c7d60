import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../..');
const MINIO_BIN = join(REPO_ROOT, '.tools/bin/minio');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`${what} not reached within ${timeoutMs} ms${cause}`);
}

/** A child process the test owns: its output is kept for assertions and failure messages. */
export class OwnedProcess {
  output = '';
  private child?: ChildProcess;
  private exited?: Promise<number | null>;

  constructor(
    private readonly command: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  start(): this {
    const child = spawn(this.command, this.args, {
      // Only what the test passes: neither the developer's environment nor their .env leaks in.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: '/dev/null', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
    this.child = child;
    return this;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * The exit code once the process ends by itself; a process still running after `timeoutMs` is
   * killed and reported as `undefined`, so a test fails instead of hanging.
   */
  async exitCode(timeoutMs = 20_000): Promise<number | null | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const code = await Promise.race([this.exited ?? null, timedOut]);
    clearTimeout(timer);
    if (code === undefined) await this.stop('SIGKILL');
    return code;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.child || !this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * A server the test owns on a free port, with its own data directory, that can be stopped and
 * started again on the same port and data, as an outage and a recovery would.
 */
abstract class TestServer {
  readonly dir: string;
  protected process?: OwnedProcess;

  protected constructor(
    readonly port: number,
    name: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `api-gpu-${name}-`));
  }

  abstract start(): Promise<void>;

  async stop(): Promise<void> {
    await this.process?.stop();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A real redis-server; `persistent` turns AOF on, as `make up` runs it, so data outlives a restart. */
export class TestRedis extends TestServer {
  private persistent = false;

  static async create(options: { persistent?: boolean } = {}): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), 'redis');
    redis.persistent = options.persistent ?? false;
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = new OwnedProcess('redis-server', [
      '--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dir,
      '--save', '', '--appendonly', this.persistent ? 'yes' : 'no', '--appendfsync', 'always',
    ]).start();
    await waitFor('redis-server listening', () =>
      Promise.resolve(this.process?.output.includes('Ready to accept connections') || undefined),
    );
  }
}

/** A real MinIO server, the one the set-up builds. */
export class TestMinio extends TestServer {
  readonly accessKey = 'test-access-key';
  readonly secretKey = `test-secret-${Math.random().toString(36).slice(2)}`;

  static async create(): Promise<TestMinio> {
    return new TestMinio(await freePort(), 'minio');
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = new OwnedProcess(
      MINIO_BIN,
      ['server', this.dir, '--address', `127.0.0.1:${this.port}`, '--quiet'],
      { MINIO_ROOT_USER: this.accessKey, MINIO_ROOT_PASSWORD: this.secretKey, MINIO_BROWSER: 'off' },
    ).start();
    await waitFor('MinIO live', async () => {
      const response = await fetch(`${this.endpoint}/minio/health/live`, {
        signal: AbortSignal.timeout(2000),
      });
      return response.ok ? true : undefined;
    });
  }
}
