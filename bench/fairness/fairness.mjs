// Fair share between clients: how long client B's one job waits to start behind client A's 100,
// with the local queues first come, first served (FAIR_SHARE=false) and with fair share. Each mode
// runs on its own stack (API, Redis, one GPU node with two slots, the test MinIO).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, removeObjects, round, sleep, startStack, tempDir, tinyMedia, uploadInputs } from '../api-overhead/stack.mjs';

const JOBS = Number(process.env.FAIRNESS_JOBS ?? 100);
const KEYS = { a: `bench-a-${randomUUID()}`, b: `bench-b-${randomUUID()}` };
const POLL_MS = 100;

function makeInputs(dir) {
  const { video } = tinyMedia(dir);
  const srt = join(dir, 'legenda.srt');
  writeFileSync(srt, '1\n00:00:00,000 --> 00:00:00,900\nLegenda de teste\n');
  const image = join(dir, 'foto.jpg');
  const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=640x480', '-frames:v', '1', image]);
  if (made.status !== 0) throw new Error(`ffmpeg failed: ${made.stderr}`);
  return { video, srt, image };
}

async function call(baseUrl, key, method, path, body) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'x-api-key': key, 'content-type': 'application/json', prefer: 'respond-async' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Seconds from `submittedAt` until the job is seen started (or already ended). */
async function waitToStart(baseUrl, key, jobId, submittedAt) {
  for (;;) {
    const { body } = await call(baseUrl, key, 'GET', `/job/${jobId}`);
    if (body.status !== 'IN_QUEUE') return (Date.now() - submittedAt) / 1000;
    await sleep(POLL_MS);
  }
}

async function runMode(fairShare, urls, dir, prefix) {
  const keysFile = join(dir, 'keys.yaml');
  writeFileSync(keysFile, `clients:\n  - { name: a, key: ${KEYS.a} }\n  - { name: b, key: ${KEYS.b} }\n`);
  process.env.NODE_CONCURRENCY = '2';
  const stack = await startStack({
    nodes: 1,
    apiEnv: {
      X_API_KEY: `bench-admin-${randomUUID()}`,
      API_KEYS_FILE: keysFile,
      FAIR_SHARE: String(fairShare),
      RATE_LIMIT_MAX: '1000000',
      MAX_QUEUED_JOBS_PER_KEY: String(JOBS + 10),
    },
  });
  try {
    const img2vid = (client, index) => ({
      images: [{ id: `${client}-${index}`, image_url: urls.image, duracao: 1 }],
      path: `${prefix}/${fairShare ? 'fair' : 'fifo'}/${client}-${index}/`,
    });
    const aIds = [];
    for (let index = 0; index < JOBS; index += 1) {
      const { status, body } = await call(stack.baseUrl, KEYS.a, 'POST', '/video/img2vid', img2vid('a', index));
      if (status !== 202) throw new Error(`A's job ${index} refused: ${status} ${JSON.stringify(body)}`);
      aIds.push(body.jobId);
    }
    const submittedAt = Date.now();
    const bImg2vid = await call(stack.baseUrl, KEYS.b, 'POST', '/video/img2vid', img2vid('b', 0));
    const bCaption = await call(stack.baseUrl, KEYS.b, 'POST', '/video/caption', {
      url_video: urls.video,
      url_srt: urls.srt,
      path: `${prefix}/${fairShare ? 'fair' : 'fifo'}/b-caption/`,
      output_filename: 'legendado.mp4',
    });
    if (bImg2vid.status !== 202 || bCaption.status !== 202) throw new Error(`B's jobs refused: ${JSON.stringify([bImg2vid, bCaption])}`);
    const [img2vidWait, captionWait] = await Promise.all([
      waitToStart(stack.baseUrl, KEYS.b, bImg2vid.body.jobId, submittedAt),
      waitToStart(stack.baseUrl, KEYS.b, bCaption.body.jobId, submittedAt),
    ]);
    // How long one of A's jobs runs, from those that ended meanwhile: the unit of the target.
    const lengths = [];
    for (const id of aIds) {
      const { body } = await call(stack.baseUrl, KEYS.a, 'GET', `/job/${id}`);
      if (body.status === 'COMPLETED' && typeof body.executionTime === 'number') lengths.push(body.executionTime / 1000);
    }
    const aStarted = (await Promise.all(aIds.map((id) => call(stack.baseUrl, KEYS.a, 'GET', `/job/${id}`)))).filter(
      ({ body }) => body.status !== 'IN_QUEUE',
    ).length;
    lengths.sort((x, y) => x - y);
    const jobLength = lengths.length ? lengths[Math.floor(lengths.length / 2)] : null;
    log(
      `${fairShare ? 'fair share' : 'FIFO'}: B's img2vid waited ${round(img2vidWait)} s, its caption ${round(captionWait)} s; ` +
        `${aStarted} of A's ${JOBS} jobs had started by then; A's median job ${jobLength === null ? '?' : round(jobLength)} s`,
    );
    return { img2vidWait, captionWait, jobLength };
  } finally {
    await stack.stop();
  }
}

async function main() {
  const dir = tempDir('fairness');
  const prefix = `fairness/${randomUUID()}`;
  const urls = await uploadInputs(`${prefix}/inputs`, makeInputs(dir));
  try {
    const fifo = await runMode(false, urls, dir, prefix);
    const fair = await runMode(true, urls, dir, prefix);
    const jobLength = fair.jobLength ?? fifo.jobLength;
    console.log(
      JSON.stringify({
        fifo_wait_s: round(fifo.img2vidWait),
        fair_wait_s: round(fair.img2vidWait),
        ratio: round(fifo.img2vidWait / fair.img2vidWait),
        fair_wait_job_lengths: jobLength ? round(fair.img2vidWait / jobLength) : null,
        caption_fifo_wait_s: round(fifo.captionWait),
        caption_fair_wait_s: round(fair.captionWait),
      }),
    );
  } finally {
    await removeObjects(prefix);
  }
}

main().catch((error) => {
  log(error.stack ?? String(error));
  process.exit(1);
});
