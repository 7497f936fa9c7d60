// api-overhead: a tiny addaudio (1 s of H.264, stream copy) sent N times through the whole service
// (HTTP sync -> Bull queue -> GPU node -> warm worker -> MinIO -> HTTP), each run paired with the
// same job sent straight to a warm worker of our own over its local protocol. The overhead of a run
// is the first time minus the second; the pairs alternate so both see the same machine load.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import {
  ROOT, log, percentile, removeObjects, requireEnv, round, startStack, tempDir, tinyMedia, uploadInputs,
} from './stack.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 3;
const OPENAI_RUNS = Number(process.env.BENCH_OPENAI_RUNS ?? 10);

/** A warm `python -m api_gpu_worker.local` of our own, timed from job line to result line. */
async function startWorker(env) {
  const python = process.env.WORKER_PYTHON ?? join(ROOT, '.venv/bin/python');
  const child = spawn(python, ['-m', 'api_gpu_worker.local'], {
    cwd: join(ROOT, 'worker-python'),
    env: { ...env, PYTHONUNBUFFERED: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = new Map();
  let ready;
  const readyLine = new Promise((r) => (ready = r));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line);
    if (message.type === 'ready') ready(message);
    if (message.type === 'result' || message.type === 'error') waiting.get(message.id)?.(message);
  });
  const readyMessage = await Promise.race([
    readyLine,
    new Promise((_, reject) => child.on('exit', (code) => reject(new Error(`the worker exited (${code})`)))),
  ]);
  log(`worker ready: encoder ${readyMessage.encoder}`);
  return {
    async time(input) {
      const id = randomUUID();
      const answered = new Promise((r) => waiting.set(id, r));
      const started = performance.now();
      child.stdin.write(`${JSON.stringify({ type: 'job', id, input })}\n`);
      const message = await answered;
      const elapsed = performance.now() - started;
      waiting.delete(id);
      if (message.type !== 'result') throw new Error(`worker error: ${JSON.stringify(message.error)}`);
      return { elapsed, output: message.output };
    },
    stop() {
      child.stdin.end();
      return new Promise((r) => child.on('exit', r));
    },
  };
}

async function timeThroughApi(baseUrl, apiKey, body) {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/video/addaudio`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`the API answered ${response.status}: ${JSON.stringify(answer)}`);
  return { elapsed, answer };
}

/** 2 s of English speech from espeak-ng: the small file both transcription routes get. */
function speech(dir) {
  const path = join(dir, 'speech.wav');
  const result = spawnSync('espeak-ng', ['-v', 'en', '-s', '150', '-w', path, 'Hello world, this is a short test.']);
  if (result.status !== 0) throw new Error(`espeak-ng failed: ${result.stderr}`);
  return path;
}

/** POST /transcribe with the file already in the bucket (its URL), synchronous. */
async function timeTranscribe(baseUrl, apiKey, audioUrl, path) {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/transcribe`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
    body: JSON.stringify({ audio_url: audioUrl, path, model: 'tiny.en', language: 'en' }),
  });
  const answer = await response.json();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`/transcribe answered ${response.status}: ${JSON.stringify(answer)}`);
  return elapsed;
}

/** POST /v1/audio/transcriptions with the file in the multipart body, as OpenAI's clients send it. */
async function timeOpenAi(baseUrl, apiKey, file) {
  const form = new FormData();
  form.append('file', new Blob([file]), 'speech.wav');
  form.append('model', 'tiny.en');
  form.append('language', 'en');
  const started = performance.now();
  const response = await fetch(`${baseUrl}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}` },
    body: form,
  });
  const answer = await response.json();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`/v1/audio/transcriptions answered ${response.status}: ${JSON.stringify(answer)}`);
  return elapsed;
}

async function main() {
  const apiKey = requireEnv('X_API_KEY').split(',')[0].trim();
  const runId = randomUUID();
  const prefix = `bench/api-overhead/${runId}`;
  const dir = tempDir('api-overhead');
  const urls = await uploadInputs(prefix, { ...tinyMedia(dir), speech: speech(dir) });
  const speechBytes = readFileSync(join(dir, 'speech.wav'));
  const stack = await startStack({ nodes: 1 });
  const worker = await startWorker(stack.env);
  const overheads = [];
  const endToEnd = [];
  const direct = [];
  const outsideRecord = [];
  const insideRecord = [];
  const viaTranscribe = [];
  const viaOpenAi = [];
  try {
    for (let run = 0; run < WARMUP + RUNS; run += 1) {
      const input = {
        url_video: urls.video,
        url_audio: urls.audio,
        path: `${prefix}/out/`,
        output_filename: `run-${run}.mp4`,
      };
      const viaWorker = await worker.time({ operation: 'addaudio', ...input, output_filename: `direct-${run}.mp4` });
      const viaApi = await timeThroughApi(stack.baseUrl, apiKey, input);
      if (viaWorker.output.encoder !== 'copy' || viaApi.answer.encoder !== 'copy') {
        throw new Error(`expected stream copy, got ${viaWorker.output.encoder} / ${viaApi.answer.encoder}`);
      }
      if (run < WARMUP) continue;
      direct.push(viaWorker.elapsed);
      endToEnd.push(viaApi.elapsed);
      overheads.push(viaApi.elapsed - viaWorker.elapsed);
      outsideRecord.push(viaApi.elapsed - viaApi.answer.stats.executionTime);
      insideRecord.push(viaApi.answer.stats.executionTime - viaWorker.elapsed);
    }
    // The OpenAI facade against /transcribe on the same file, alternating, after one warm-up pair
    // (the node's whisper model loads on the first transcription).
    for (let run = 0; run < 1 + OPENAI_RUNS; run += 1) {
      const transcribe = await timeTranscribe(stack.baseUrl, apiKey, urls.speech, `${prefix}/transcribe-${run}/`);
      const openAi = await timeOpenAi(stack.baseUrl, apiKey, speechBytes);
      if (run === 0) continue;
      viaTranscribe.push(transcribe);
      viaOpenAi.push(openAi);
    }
  } finally {
    await worker.stop();
    await stack.stop();
    await removeObjects(`${prefix}/`);
    await removeObjects('uploads/openai/');
  }
  // Where the overhead goes: before the node starts the job and after it ends it (HTTP, validation,
  // queue, events), and inside the node's executionTime beyond the worker's own time.
  log(`runs: ${RUNS}; through the API p50 ${round(percentile(endToEnd, 50))} ms, worker alone p50 ` +
    `${round(percentile(direct, 50))} ms; outside the record's executionTime p50 ` +
    `${round(percentile(outsideRecord, 50))} ms, node time beyond the worker's p50 ` +
    `${round(percentile(insideRecord, 50))} ms`);
  console.log(JSON.stringify({
    overhead_ms_p50: round(percentile(overheads, 50)),
    overhead_ms_p99: round(percentile(overheads, 99)),
    end_to_end_ms_p50: round(percentile(endToEnd, 50)),
    worker_ms_p50: round(percentile(direct, 50)),
    runs: RUNS,
    // The same 2 s file through /v1/audio/transcriptions (uploaded in the request) and /transcribe
    // (already in the bucket), p50 over p50.
    openai_vs_transcribe: round2(percentile(viaOpenAi, 50) / percentile(viaTranscribe, 50)),
    openai_ms_p50: round(percentile(viaOpenAi, 50)),
    transcribe_ms_p50: round(percentile(viaTranscribe, 50)),
    openai_runs: OPENAI_RUNS,
    // Other work on the machine moves these figures; the load average tells how much there was.
    load_avg_1m: round(loadavg()[0]),
  }));
}

const round2 = (value) => Math.round(value * 100) / 100;

main().catch((error) => {
  log(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
