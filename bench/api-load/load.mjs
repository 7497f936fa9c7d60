// api-load: 200 concurrent clients submitting async addaudio jobs to the API on loopback, with
// autocannon; the latency of the 202. Each client is one autocannon instance with its own
// keep-alive connection submitting BENCH_CLIENT_RATE jobs per second (default 1: 200 jobs/s in
// all), the clients started evenly across one period so their submissions interleave as
// independent clients' would (autocannon alone would fire all 200 in the same millisecond every
// second). Clients that never pause would measure only the queue they build in front of the API
// (with 200 always in flight, latency is 200 / throughput), so that saturation is reported apart,
// as `max_rps`. No GPU node runs: accepted jobs stay queued, and the cores serve only the API,
// Redis and autocannon.
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { log, percentile, requireEnv, round, sleep, startStack } from '../api-overhead/stack.mjs';

const CLIENTS = Number(process.env.BENCH_CONNECTIONS ?? 200);
const CLIENT_RATE = Number(process.env.BENCH_CLIENT_RATE ?? 1);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = 2;
const SATURATION_S = 5;

function cannon(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** CLIENTS paced clients for `durationS`; every response's status and time. */
async function pacedClients(request, durationS) {
  const responses = [];
  let failures = 0;
  const periodMs = 1000 / CLIENT_RATE;
  const clients = [];
  for (let index = 0; index < CLIENTS; index += 1) {
    clients.push(
      new Promise((resolve, reject) => {
        const instance = autocannon(
          { ...request, connections: 1, connectionRate: CLIENT_RATE, duration: durationS, ignoreCoordinatedOmission: true },
          (error, result) => (error ? reject(error) : resolve(result)),
        );
        instance.on('response', (_client, status, _bytes, timeMs) => responses.push({ status, timeMs }));
        instance.on('reqError', () => (failures += 1));
      }),
    );
    await sleep(periodMs / CLIENTS);
  }
  const results = await Promise.all(clients);
  const timeouts = results.reduce((sum, result) => sum + result.timeouts, 0);
  return { responses, failures: Math.max(failures, timeouts) };
}

async function main() {
  const apiKey = requireEnv('X_API_KEY').split(',')[0].trim();
  const media = `${requireEnv('S3_ENDPOINT_URL')}/${requireEnv('S3_BUCKET_NAME')}/bench/api-load`;
  const body = JSON.stringify({
    url_video: `${media}/vídeo.mp4`,
    url_audio: `${media}/áudio.mp3`,
    path: `bench/api-load/${randomUUID()}/`,
    output_filename: 'vídeo com áudio.mp4',
  });
  const headers = { 'content-type': 'application/json', 'x-api-key': apiKey, prefer: 'respond-async' };
  // The per-key rate and queue limits would otherwise answer 429 to a load they are meant to stop.
  const stack = await startStack({
    nodes: 0,
    apiEnv: { RATE_LIMIT_MAX: '1000000000', MAX_QUEUED_JOBS_PER_KEY: '1000000000', MAX_QUEUED_OUTPUT_S_PER_KEY: '1000000000' },
  });
  try {
    const url = `${stack.baseUrl}/video/addaudio`;
    const probe = await fetch(url, { method: 'POST', headers, body });
    const accepted = await probe.json();
    if (probe.status !== 202 || !accepted.jobId) {
      throw new Error(`expected a 202 with a jobId, got ${probe.status}: ${JSON.stringify(accepted)}`);
    }
    const request = { url, method: 'POST', headers, body };
    await pacedClients(request, WARMUP_S);
    // The clients' own process delays the moment a response is read; this says by how much.
    const generatorDelay = monitorEventLoopDelay({ resolution: 1 });
    generatorDelay.enable();
    const { responses, failures } = await pacedClients(request, DURATION_S);
    generatorDelay.disable();
    const saturation = await cannon({ ...request, connections: CLIENTS, duration: SATURATION_S });

    const times = responses.filter((response) => response.status === 202).map((response) => response.timeMs);
    const errors = failures + responses.length - times.length;
    log(`${responses.length} submissions in ${DURATION_S} s from ${CLIENTS} clients at ${CLIENT_RATE}/s each: ` +
      `p50 ${round(percentile(times, 50))} ms, p90 ${round(percentile(times, 90))} ms, ` +
      `max ${round(Math.max(...times))} ms; ${errors} not answered 202; the load generator's own event-loop ` +
      `delay p99 ${round(generatorDelay.percentile(99) / 1e6)} ms`);
    log(`saturation (${CLIENTS} clients without pause, ${SATURATION_S} s): ` +
      `${round(saturation.requests.average)} requests/s, p50 ${saturation.latency.p50} ms, ` +
      `p99 ${saturation.latency.p99} ms, errors ${saturation.errors + saturation.timeouts + saturation.non2xx}`);
    console.log(JSON.stringify({
      p50_ms: round(percentile(times, 50)),
      p99_ms: round(percentile(times, 99)),
      errors,
      requests: responses.length,
      clients: CLIENTS,
      client_rate_per_s: CLIENT_RATE,
      max_rps: round(saturation.requests.average),
      // Other work on the machine moves these figures; the load average tells how much there was.
      load_avg_1m: round(loadavg()[0]),
    }));
  } finally {
    await stack.stop();
  }
}

main().catch((error) => {
  log(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
