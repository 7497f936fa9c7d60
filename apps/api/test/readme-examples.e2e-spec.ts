import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, waitFor } from '../../../test/support/processes';
import { ApiUnderTest, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

jest.setTimeout(600_000);

/** What a README answer shows for a value that varies from run to run. */
const ANY = '…';
/** The addresses the README names: make up's defaults, replaced by this stack's. */
const README_API = 'http://127.0.0.1:3000';
const README_BUCKET_URL = 'http://127.0.0.1:9000/canais';
const README_WEBHOOK = '127.0.0.1:8787';

interface Example {
  script: string;
  answer: unknown;
}

/** Each ```sh block of README.md's "First jobs" with the ```json answer that follows it. */
function readmeExamples(): Example[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### First jobs');
  const end = readme.indexOf('\n##', start + 1);
  const section = readme.slice(start, end);
  const blocks = [...section.matchAll(/```(sh|json)\n([\s\S]*?)```/g)].map((m) => ({ kind: m[1], text: m[2] }));
  const examples: Example[] = [];
  blocks.forEach((block, index) => {
    if (block.kind !== 'sh') return;
    const next = blocks[index + 1];
    if (next?.kind !== 'json') throw new Error(`README example ${examples.length + 1} has no answer after it`);
    examples.push({ script: block.text, answer: JSON.parse(next.text) });
  });
  return examples;
}

/** Whether `actual` has what `expected` shows: every key, equal scalars, `…` for anything. */
function differences(expected: unknown, actual: unknown, path = ''): string[] {
  if (expected === ANY) return actual === undefined ? [`${path || 'answer'} is missing`] : [];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length < expected.length) return [`${path} is not an array of ${expected.length}+`];
    return expected.flatMap((item, i) => differences(item, actual[i], `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return [`${path || 'answer'} is not an object: ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([key, value]) =>
      differences(value, (actual as Record<string, unknown>)[key], path ? `${path}.${key}` : key),
    );
  }
  return expected === actual ? [] : [`${path || 'answer'} is ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`];
}

/**
 * README.md's "First jobs", run as written against a live stack (API, a GPU node, Redis, MinIO, the
 * samples make up uploads), each answer checked against the one the README shows. Only the
 * addresses differ: this stack's ports and bucket instead of make up's defaults.
 */
describe('the README examples run as written', () => {
  const s3 = testS3();
  const examples = readmeExamples();
  let deployment: Deployment;
  let api: ApiUnderTest;
  let receiver: Server;
  let webhook: string;
  let cwd: string;
  const received: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    webhook = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    deployment = await startDeployment({
      name: 'readme-examples',
      env: { WHISPER_MODEL_ALIASES: 'large-v3=base' },
      api: {
        PRIVATE_URL_ALLOWLIST: `${s3.hostPort},${webhook}`,
        WEBHOOK_SECRET: 'readme-examples-webhook-secret',
        WEBHOOK_RETRY_DELAYS_MS: '200',
      },
      nodes: ['readme-node'],
    });
    api = deployment.api;
    execFileSync(join(REPO_ROOT, '.venv/bin/python'), [join(REPO_ROOT, 'scripts/upload_samples.py')], {
      env: { ...process.env, S3_ENDPOINT_URL: s3.endpoint, S3_BUCKET_NAME: s3.bucket },
    });
    cwd = mkdtempSync(join(tmpdir(), 'api-gpu-readme-'));
    writeFileSync(join(cwd, '.env'), `X_API_KEY=${api.key}\n`);
  }, 600_000);

  afterAll(async () => {
    await deployment?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('has an example for every job route, async status, result and cancel, and a webhook', () => {
    const scripts = examples.map((example) => example.script).join('\n');
    for (const route of ['/video/caption"', '/video/caption_style"', '/video/img2vid"', '/video/addaudio"', '/transcribe"', '/job/$JOB"', '/video/job/$JOB/result"', '/job/$JOB/cancel"', 'webhook_url']) {
      expect(scripts).toContain(route);
    }
  });

  it('every example answers what the README shows', async () => {
    const state = join(cwd, 'state.sh');
    writeFileSync(state, '');
    for (const [index, example] of examples.entries()) {
      const script = example.script
        .replaceAll(README_API, api.url)
        .replaceAll(README_BUCKET_URL, s3.publicUrl)
        .replaceAll(README_WEBHOOK, webhook);
      const run = spawnSync('bash', ['-c', `set -eo pipefail; source "${state}"\n${script}\ndeclare -p API KEY SAMPLES JOB > "${state}" 2>/dev/null || true`], {
        cwd,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });
      const where = `README example ${index + 1}:\n${example.script}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
      if (run.status !== 0) throw new Error(`exited ${run.status}; ${where}`);
      let answer: unknown;
      try {
        answer = JSON.parse(run.stdout);
      } catch {
        throw new Error(`not JSON; ${where}`);
      }
      const problems = differences(example.answer, answer);
      if (problems.length > 0) throw new Error(`${problems.join('; ')}; ${where}`);
    }
    await waitFor('the webhook of the README example', () => Promise.resolve(received.length > 0 ? true : undefined), 120_000);
    expect(JSON.parse(received[0])).toMatchObject({ code: 200, status: 'COMPLETED' });
  });
});
