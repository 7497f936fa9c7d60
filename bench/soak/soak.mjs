// The soak: every accepted job must end (COMPLETED or FAILED) although a node dies every 20 s.
// A job is lost when it never ends before the deadline, or its record disappears.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT,
  freePort,
  log,
  sleep,
  startStack,
  tempDir,
  tinyMedia,
  uploadInputs,
} from '../api-overhead/stack.mjs';

const JOBS = Number(process.env.SOAK_JOBS ?? 500);
const KILL_EVERY_MS = Number(process.env.SOAK_KILL_EVERY_S ?? 20) * 1000;
const DEADLINE_MS = Number(process.env.SOAK_DEADLINE_S ?? 1800) * 1000;
const API_KEY = `soak-${randomUUID()}`;
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
// A killed node's job is back in the queue within about 1.5 lock durations.
const JOB_LOCK_MS = 4000;

function makeInputs(dir) {
  const { video, audio } = tinyMedia(dir);
  const srt = join(dir, 'legenda.srt');
  writeFileSync(srt, '1\n00:00:00,000 --> 00:00:00,900\nLegenda de teste: ação e coração\n');
  const image = join(dir, 'foto.jpg');
  const speech = join(dir, 'fala.wav');
  const run = (command, args) => {
    const result = spawnSync(command, args);
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  };
  run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=640x480', '-frames:v', '1', image]);
  run('espeak-ng', ['-v', 'en', '-w', speech, 'Hello, this is a short test.']);
  return { video, audio, srt, image, speech };
}

function requestFor(index, urls) {
  const path = `soak/${index}/`;
  switch (index % 10) {
    case 0:
      return ['/transcribe', { audio_url: urls.speech, path, language: 'en', model: 'tiny.en' }];
    case 1:
    case 2:
      return ['/video/img2vid', { images: [{ id: `imagem-${index}`, image_url: urls.image, duracao: 1 }], path }];
    case 3:
    case 4:
    case 5:
      return ['/video/addaudio', { url_video: urls.video, url_audio: urls.audio, path, output_filename: 'com_audio.mp4' }];
    default:
      return ['/video/caption', { url_video: urls.video, url_srt: urls.srt, path, output_filename: 'legendado.mp4' }];
  }
}

/** Resident set size of a process in MB, or 0 once it is gone. */
function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function main() {
  const dir = tempDir('soak');
  const inputs = makeInputs(dir);
  const urls = await uploadInputs(`soak-inputs/${randomUUID()}`, inputs);
  const stack = await startStack({ nodes: 0, apiEnv: { X_API_KEY: API_KEY, RATE_LIMIT_MAX: '1000000' } });
  const api = stack.children.find((child) => child.name === 'api');
  const nodeEnv = { ...stack.env, JOB_LOCK_MS: String(JOB_LOCK_MS) };

  const nodes = [];
  const startNode = async (name) => {
    const node = spawn('node', [join(ROOT, 'dist/apps/gpu-node/main.js')], {
      cwd: ROOT,
      env: { ...nodeEnv, NODE_ID: name, NODE_HEALTH_PORT: String(await freePort()) },
      stdio: 'ignore',
    });
    nodes.push(node);
    return node;
  };
  await startNode('soak-steady');
  let victim = await startNode('soak-victim');

  let apiPeak = 0;
  let nodePeak = 0;
  const sampler = setInterval(() => {
    apiPeak = Math.max(apiPeak, rssMb(api.process.pid));
    for (const node of nodes) if (node.exitCode === null) nodePeak = Math.max(nodePeak, rssMb(node.pid));
  }, 500);

  let kills = 0;
  let stopKilling = false;
  const killer = (async () => {
    while (!stopKilling) {
      await sleep(KILL_EVERY_MS);
      if (stopKilling) break;
      // The node's workers die with it, as they would with the machine.
      const workers = childrenOf(victim.pid);
      victim.kill('SIGKILL');
      for (const pid of workers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone with its node
        }
      }
      kills += 1;
      victim = await startNode('soak-victim');
    }
  })();

  const headers = { 'x-api-key': API_KEY, 'content-type': 'application/json', prefer: 'respond-async' };
  const accepted = [];
  let refused = 0;
  for (let index = 0; index < JOBS; index += 1) {
    const [route, body] = requestFor(index, urls);
    const response = await fetch(`${stack.baseUrl}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (response.status === 202) accepted.push((await response.json()).jobId);
    else {
      refused += 1;
      log(`refused ${route}: ${response.status} ${await response.text()}`);
    }
  }
  log(`${accepted.length} jobs accepted, ${refused} refused; waiting for them to end`);

  const ended = new Map();
  const missing = new Set();
  const deadline = Date.now() + DEADLINE_MS;
  while (ended.size + missing.size < accepted.length && Date.now() < deadline) {
    for (const jobId of accepted) {
      if (ended.has(jobId) || missing.has(jobId)) continue;
      const response = await fetch(`${stack.baseUrl}/job/${jobId}`, { headers: { 'x-api-key': API_KEY } });
      if (response.status === 404) missing.add(jobId);
      else if (response.ok) {
        const status = (await response.json()).status;
        if (TERMINAL.has(status)) ended.set(jobId, status);
      }
    }
    log(`${ended.size}/${accepted.length} ended, ${kills} kills so far`);
    await sleep(2000);
  }
  stopKilling = true;
  await killer;
  clearInterval(sampler);

  const statuses = [...ended.values()];
  const failures = accepted.filter((id) => ended.get(id) === 'FAILED').slice(0, 3);
  for (const jobId of failures) {
    const response = await fetch(`${stack.baseUrl}/job/${jobId}`, { headers: { 'x-api-key': API_KEY } });
    log(`failed job ${jobId}: ${JSON.stringify((await response.json()).error)}`);
  }
  for (const node of nodes) if (node.exitCode === null && node.signalCode === null) node.kill('SIGTERM');
  await stack.stop();
  log(`${kills} node kills; statuses: ${JSON.stringify(Object.fromEntries(statuses.map((s) => [s, statuses.filter((x) => x === s).length])))}`);
  const round = (value) => Math.round(value * 10) / 10;
  console.log(
    JSON.stringify({
      accepted: accepted.length,
      completed: statuses.filter((s) => s === 'COMPLETED').length,
      failed: statuses.filter((s) => s !== 'COMPLETED').length,
      lost: accepted.length - ended.size,
      api_peak_rss_mb: round(apiPeak),
      node_peak_rss_mb: round(nodePeak),
    }),
  );
}

main().catch((error) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
