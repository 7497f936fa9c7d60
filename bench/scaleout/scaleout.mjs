// scaleout: the wall time of one img2vid batch of BENCH_IMAGES short clips, from the request to
// the answer, (1) as one job on one GPU node, (2) split into three parts on three GPU nodes (one
// slot each), (3) split into three parts on one GPU node and the RunPod stand-in
// (test/support/fake-runpod, two workers running the real handler on this same machine). Every
// process shares this machine's cores, so the speed-up is bounded by the cores, not by the nodes:
// it is reported per core too.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, log, removeObjects, requireEnv, startStack, uploadInputs } from '../api-overhead/stack.mjs';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const DURACAO_S = Number(process.env.BENCH_DURACAO_S ?? 0.2);
const CORES = availableParallelism();
const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function photo(dir) {
  const path = join(dir, 'foto.jpg');
  const result = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360', '-frames:v', '1', path]);
  if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr}`);
  return path;
}

/** The RunPod stand-in on a free port; resolves with its v2 base URL and a stop function. */
async function startFakeRunPod(apiKey) {
  const child = spawn(join(ROOT, '.venv/bin/python'), [join(ROOT, 'test/support/fake-runpod/server.py')], {
    env: { ...process.env, FAKE_RUNPOD_API_KEY: apiKey, PORT: '0', ENV_FILE: '/dev/null' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const port = await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /\{"port": (\d+)\}/.exec(output);
      if (match) {
        clearInterval(timer);
        resolve(Number(match[1]));
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`fake RunPod exited: ${output}`));
      }
    }, 100);
  });
  await fetch(`http://127.0.0.1:${port}/_fake/settings`, { method: 'POST', body: JSON.stringify({ workers: 2 }) });
  return {
    base: `http://127.0.0.1:${port}/v2`,
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.on('exit', resolve), child.kill('SIGTERM')))),
  };
}

/** Starts the stack, sends the batch synchronously, checks the answer; the wall time in seconds. */
async function timedBatch(label, { nodes, apiEnv }, imageUrl) {
  const stack = await startStack({ nodes, apiEnv: { SYNC_TIMEOUT_S: '3600', ...apiEnv } });
  const path = `bench-scaleout/${randomUUID()}/`;
  try {
    const images = Array.from({ length: IMAGES }, (_, index) => ({ id: `foto-${index + 1}`, image_url: imageUrl, duracao: DURACAO_S }));
    const started = performance.now();
    const response = await fetch(`${stack.baseUrl}/video/img2vid`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': apiEnv.X_API_KEY },
      body: JSON.stringify({ images, path }),
      signal: AbortSignal.timeout(3_600_000),
    });
    const body = await response.json();
    const seconds = (performance.now() - started) / 1000;
    if (response.status !== 200) throw new Error(`${label}: ${response.status} ${JSON.stringify(body)}`);
    const names = body.videos.map((video) => video.filename);
    const expected = images.map((_, index) => `video_${index + 1}.mp4`);
    if (JSON.stringify(names) !== JSON.stringify(expected)) throw new Error(`${label}: videos out of order`);
    const status = await (await fetch(`${stack.baseUrl}/job/${body.jobId}`, { headers: { 'X-API-Key': apiEnv.X_API_KEY } })).json();
    const where = status.parts ? status.parts.map((part) => part.executor).join('+') : status.executor;
    log(`${label}: ${round(seconds)} s (${where}), load average ${loadavg().map((l) => round(l)).join(' ')}`);
    return seconds;
  } finally {
    await stack.stop();
    await removeObjects(path);
  }
}

async function main() {
  requireEnv('S3_ENDPOINT_URL');
  const dir = mkdtempSync(join(tmpdir(), 'api-gpu-bench-scaleout-'));
  const prefix = `bench-scaleout-inputs/${randomUUID()}`;
  const runpodKey = `rpa_bench_${randomUUID()}`;
  const fake = await startFakeRunPod(runpodKey);
  try {
    const { photo: imageUrl } = await uploadInputs(prefix, { photo: photo(dir) });
    const key = `bench-${randomUUID()}`;
    const split = { IMG2VID_SPLIT_THRESHOLD: String(Math.ceil(IMAGES / 3) - 1), MAX_WORKERS: '3' };
    log(`scaleout: ${IMAGES} images of ${DURACAO_S} s, ${CORES} cores`);
    const oneNode = await timedBatch('one node, one job', { nodes: 1, apiEnv: { X_API_KEY: key, IMG2VID_SPLIT_THRESHOLD: '500' } }, imageUrl);
    const threeNodes = await timedBatch('three nodes, three parts', { nodes: 3, apiEnv: { X_API_KEY: key, ...split } }, imageUrl);
    const hybrid = await timedBatch(
      'one node + RunPod stand-in, three parts',
      {
        nodes: 1,
        apiEnv: {
          X_API_KEY: key,
          ...split,
          EXECUTOR_MODE: 'hybrid',
          RUNPOD_API_KEY: runpodKey,
          RUNPOD_ENDPOINT_ID: 'bench',
          RUNPOD_API_BASE: fake.base,
        },
      },
      imageUrl,
    );
    const speedup = oneNode / threeNodes;
    log(`speed-up with three nodes: ${round(speedup)}x on ${CORES} cores (${round(speedup / Math.min(3, CORES))} of the ideal per core)`);
    log(`speed-up split across one node and RunPod: ${round(oneNode / hybrid)}x`);
    console.log(
      JSON.stringify({
        images: IMAGES,
        duracao_s: DURACAO_S,
        cores: CORES,
        one_node_s: round(oneNode),
        three_nodes_s: round(threeNodes),
        speedup_3_nodes: round(speedup),
        speedup_per_core: round(speedup / Math.min(3, CORES)),
        node_and_runpod_s: round(hybrid),
        speedup_node_and_runpod: round(oneNode / hybrid),
      }),
    );
  } finally {
    await fake.stop();
    await removeObjects(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  log(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
