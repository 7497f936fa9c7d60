import { join } from 'node:path';
import { OwnedProcess, REPO_ROOT } from '../../../test/support/processes';

const API_MAIN = join(process.env.E2E_DIST_DIR ?? join(REPO_ROOT, 'dist'), 'apps/api/main.js');

const RUNPOD_KEY = 'rpa_CONFIGTESTKEY0123456789';
const VALID = {
  X_API_KEY: 'config-test-key',
  S3_ACCESS_KEY: 'config-test-access',
  S3_SECRET_KEY: 'config-test-secret-value',
  REDIS_URL: 'redis://127.0.0.1:1',
  // A documentation-only address: a case that validation lets through fails to bind at once.
  PORT: '1',
  HOST: '192.0.2.1',
};

describe('the executor variables are validated at start', () => {
  it.each([
    ['EXECUTOR_MODE', { EXECUTOR_MODE: 'cloud' }],
    ['RUNPOD_API_KEY', { EXECUTOR_MODE: 'runpod' }],
    ['RUNPOD_API_KEY', { EXECUTOR_MODE: 'hybrid' }],
    ['RUNPOD_ENDPOINT_ID', { RUNPOD_API_KEY: RUNPOD_KEY }],
    ['RUNPOD_ENDPOINT_ID', { RUNPOD_API_KEY: RUNPOD_KEY, RUNPOD_ENDPOINT_ID: 'has space' }],
    ['RUNPOD_WHISPER_WORKER', { RUNPOD_WHISPER_WORKER: 'custom' }],
    ['RUNPOD_API_BASE', { RUNPOD_API_BASE: 'api.runpod.ai/v2' }],
    ['RUNPOD_EXECUTION_TIMEOUT', { RUNPOD_EXECUTION_TIMEOUT: '2' }],
    ['RUNPOD_MAX_WAIT_S', { RUNPOD_MAX_WAIT_S: 'forever' }],
    ['RUNPOD_HTTP_TIMEOUT_S', { RUNPOD_HTTP_TIMEOUT_S: '0' }],
    ['BURST_QUEUE_THRESHOLD', { BURST_QUEUE_THRESHOLD: '-1' }],
    ['IMG2VID_SPLIT_THRESHOLD', { IMG2VID_SPLIT_THRESHOLD: '0' }],
    ['MAX_WORKERS', { MAX_WORKERS: '17' }],
  ])('the API exits naming %s', async (variable, override) => {
    const child = new OwnedProcess('node', [API_MAIN], { ...VALID, ...override }).start();
    const code = await child.exitCode();
    expect(code).toBe(1);
    expect(child.output).toContain('Invalid configuration');
    expect(child.output).toContain(variable);
    expect(child.output).not.toContain(RUNPOD_KEY);
  });
});
