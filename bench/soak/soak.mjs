// The soak: every accepted job must end (COMPLETED or FAILED) although a node dies every 20 s.
// A job is lost when it never ends before the deadline, or its record disappears. One job in
// fifty is a bomb (issue 20): refused at admission or after probing, clamped, or TIMED_OUT at its
// deadline; max_slot_hold_s says how long any job held a worker.
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
const BOMBS = process.env.SOAK_BOMBS !== '0';
// Every caption's deadline is the cap: short here, so the long-video bomb ends within the run.
const MAX_RUNTIME_S = Number(process.env.SOAK_MAX_RUNTIME_S ?? 60);
const BOMB_KINDS = ['long-video', 'eight-k', 'one-line-srt', 'ass-bomb', 'img2vid-83h'];

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
  if (!BOMBS) return { video, audio, srt, image, speech };
  return { video, audio, srt, image, speech, ...makeBombs(dir, run) };
}

/** Issue 20's attacks, small: an hour of stream-copied black 720p, an 8K second, a 5 MB line, an ASS tag bomb. */
function makeBombs(dir, run) {
  const ffmpeg = (...args) => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
  const black = join(dir, 'black.mp4');
  ffmpeg('-f', 'lavfi', '-i', 'color=black:size=1280x720:rate=30:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', black);
  writeFileSync(join(dir, 'list.txt'), "file 'black.mp4'\n".repeat(1800));
  const hour = join(dir, 'hora.mkv');
  ffmpeg('-f', 'concat', '-safe', '0', '-i', join(dir, 'list.txt'), '-c', 'copy', hour);
  const eightK = join(dir, 'oito-k.mp4');
  ffmpeg('-f', 'lavfi', '-i', 'color=black:size=8192x4320:rate=1:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', eightK);
  const oneLine = join(dir, 'uma-linha.srt');
  writeFileSync(oneLine, `1\n00:00:00,000 --> 00:00:03,000\n${'x'.repeat(5 * 1024 * 1024)}\n`);
  const assBomb = join(dir, 'bomba.ass');
  const layers = Array.from(
    { length: 20 },
    (_, layer) => `Dialogue: ${layer},0:00:00.00,0:00:01.00,Default,,0,0,0,,{\\fs9999\\blur100\\bord500}Olá`,
  );
  writeFileSync(
    assBomb,
    [
      '[Script Info]', 'ScriptType: v4.00+', '', '[V4+ Styles]',
      'Format: Name, Fontname, Fontsize, PrimaryColour, Outline, Shadow', 'Style: Default,DejaVu Sans,9999,&H00FFFFFF,500,300', '',
      '[Events]', 'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text', ...layers, '',
    ].join('\n'),
  );
  return { hour, eightK, oneLine, assBomb };
}

function bombFor(index, urls) {
  const path = `soak/${index}/`;
  const caption = (url_video, url_srt) => ['/video/caption', { url_video, url_srt, path, output_filename: 'bomba.mp4' }];
  switch (BOMB_KINDS[Math.floor(index / 50) % BOMB_KINDS.length]) {
    case 'long-video':
      return caption(urls.hour, urls.srt);
    case 'eight-k':
      return caption(urls.eightK, urls.srt);
    case 'one-line-srt':
      return caption(urls.video, urls.oneLine);
    case 'ass-bomb':
      return caption(urls.video, urls.assBomb);
    default: {
      const images = Array.from({ length: 500 }, (_, i) => ({ id: `b${i}`, image_url: urls.image, duracao: 600 }));
      return ['/video/img2vid', { images, path }];
    }
  }
}

function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function requestFor(index, urls) {
  if (BOMBS && index % 50 === 49) return bombFor(index, urls);
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
  const limits = { JOB_MAX_RUNTIME_S: String(MAX_RUNTIME_S) };
  const stack = await startStack({
    nodes: 0,
    apiEnv: { X_API_KEY: API_KEY, RATE_LIMIT_MAX: '1000000', MAX_QUEUED_JOBS_PER_KEY: String(JOBS), ...limits },
  });
  const api = stack.children.find((child) => child.name === 'api');
  const nodeEnv = { ...stack.env, ...limits, JOB_LOCK_MS: String(JOB_LOCK_MS), JOB_DEADLINE_GRACE_S: '10' };

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
  const bombIds = new Set();
  let refused = 0;
  for (let index = 0; index < JOBS; index += 1) {
    const [route, body] = requestFor(index, urls);
    const response = await fetch(`${stack.baseUrl}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (response.status === 202) {
      const { jobId } = await response.json();
      accepted.push(jobId);
      if (BOMBS && index % 50 === 49) bombIds.add(jobId);
    } else {
      refused += 1;
      log(`refused ${route}: ${response.status} ${await response.text()}`);
    }
  }
  log(`${accepted.length} jobs accepted, ${refused} refused; waiting for them to end`);

  const ended = new Map();
  const bodies = new Map();
  const missing = new Set();
  const deadline = Date.now() + DEADLINE_MS;
  while (ended.size + missing.size < accepted.length && Date.now() < deadline) {
    for (const jobId of accepted) {
      if (ended.has(jobId) || missing.has(jobId)) continue;
      const response = await fetch(`${stack.baseUrl}/job/${jobId}`, { headers: { 'x-api-key': API_KEY } });
      if (response.status === 404) missing.add(jobId);
      else if (response.ok) {
        const body = await response.json();
        if (TERMINAL.has(body.status)) {
          ended.set(jobId, body.status);
          bodies.set(jobId, body);
        }
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
  const seconds = (from, to) => (from && to ? (Date.parse(to) - Date.parse(from)) / 1000 : 0);
  const holds = [...bodies.values()].map((body) => seconds(body.startedAt, body.endedAt));
  const normalEndToEnd = [...bodies.entries()]
    .filter(([jobId]) => !bombIds.has(jobId))
    .map(([, body]) => seconds(body.createdAt, body.endedAt));
  console.log(
    JSON.stringify({
      accepted: accepted.length,
      completed: statuses.filter((s) => s === 'COMPLETED').length,
      failed: statuses.filter((s) => s !== 'COMPLETED' && s !== 'TIMED_OUT').length,
      timed_out: statuses.filter((s) => s === 'TIMED_OUT').length,
      lost: accepted.length - ended.size,
      max_slot_hold_s: round(Math.max(0, ...holds)),
      normal_p95_s: round(percentile(normalEndToEnd, 95)),
      refused,
      bombs: BOMBS,
      api_peak_rss_mb: round(apiPeak),
      node_peak_rss_mb: round(nodePeak),
    }),
  );
}

main().catch((error) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
