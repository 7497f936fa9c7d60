import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

jest.setTimeout(300_000);

function jsonLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** LOGS_DIR, the replaced service's variable: each process also writes its JSON log lines there. */
describe('LOGS_DIR', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let api: ApiUnderTest;
  let logsDir: string;

  beforeAll(async () => {
    logsDir = mkdtempSync(join(tmpdir(), 'api-gpu-logs-dir-'));
    deployment = await startDeployment({
      name: 'e2e-logs-dir',
      env: { LOGS_DIR: join(logsDir, 'logs'), LOG_LEVEL: 'info' },
      nodes: ['logs-dir-node'],
    });
    api = deployment.api;
  }, 300_000);

  afterAll(async () => {
    await deployment?.stop();
    if (logsDir) rmSync(logsDir, { recursive: true, force: true });
  });

  it('the API writes its JSON log lines to LOGS_DIR/api.log, secrets scrubbed as on stdout', async () => {
    await api.call('GET', `/job/00000000-0000-4000-8000-000000000000?key=${s3.secretKey}`);
    const path = join(logsDir, 'logs', 'api.log');
    const line = await waitFor('the request logged to api.log', () =>
      Promise.resolve(jsonLines(path).find((entry) => (entry.res as { statusCode?: number } | undefined)?.statusCode === 404)),
    );
    expect(line).toMatchObject({ req: { method: 'GET', path: '/job/00000000-0000-4000-8000-000000000000' } });
    expect(readFileSync(path, 'utf8')).not.toContain(s3.secretKey);
  });

  it('the GPU node writes its log lines as JSON to LOGS_DIR/gpu-node.log', () => {
    const lines = jsonLines(join(logsDir, 'logs', 'gpu-node.log'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toEqual({ time: expect.any(String), level: expect.any(String), pid: expect.any(Number), context: expect.any(String), msg: expect.any(String) });
  });
});
