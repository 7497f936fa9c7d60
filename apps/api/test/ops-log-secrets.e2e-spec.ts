import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { waitFor } from '../../../test/support/processes';
import { ApiUnderTest, GpuNodeUnderTest, TestMedia, testS3 } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';

jest.setTimeout(300_000);

const WEBHOOK_SECRET = 'log-secrets-webhook-secret-5f1c9a';
const RUNPOD_API_KEY = 'rpa_LOGSECRETSRUNPODKEY0123456789';
const NODE_ID = 'log-secrets-node';

/** A loopback HTTP server that records what it receives and answers `status`. */
async function recorder(status: number): Promise<{ server: Server; url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(`${request.method} ${request.url} ${body}`);
      response.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"nope"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/**
 * Every configured secret, searched for in everything the API and a GPU node wrote during a full
 * run at the most verbose log level: jobs of every kind, a webhook, a failed job, refused keys,
 * the admin pages, RunPod's routes, a shutdown. None may appear, in any of the forms a secret
 * travels in (as is, URL-encoded, inside basic-auth base64), nor any presigned query string.
 */
describe('secrets never reach the logs (full run: API, GPU node, worker)', () => {
  const s3 = testS3();
  let deployment: Deployment;
  let media: TestMedia;
  let api: ApiUnderTest;
  let node: GpuNodeUnderTest;
  let webhook: Awaited<ReturnType<typeof recorder>>;
  let runpod: Awaited<ReturnType<typeof recorder>>;
  const answers: string[] = [];

  beforeAll(async () => {
    webhook = await recorder(200);
    runpod = await recorder(401);
    deployment = await startDeployment({
      name: 'log-secrets',
      media: ['video.mp4', 'legendas.srt', 'audio.mp3', 'image.jpg', 'speech.wav'],
      // Every secret goes to the node as well as the API: neither may log one.
      env: {
        LOG_LEVEL: 'verbose',
        WEBHOOK_SECRET,
        RUNPOD_API_KEY,
        RUNPOD_API_BASE: runpod.url,
        RUNPOD_ENDPOINT_ID: 'logsecretsendpoint',
        EXECUTOR_MODE: 'local',
        PRIVATE_URL_ALLOWLIST: `${s3.hostPort},${new URL(webhook.url).host},${new URL(runpod.url).host}`,
        SYNC_TIMEOUT_S: '240',
      },
      nodes: [NODE_ID],
    });
    ({ api, media, node } = deployment);
  });

  afterAll(async () => {
    await deployment?.stop();
    webhook?.server.close();
    runpod?.server.close();
  });

  it('runs jobs, webhooks and refusals, then finds no secret in any log line or answer', async () => {
    const call = async (...args: Parameters<ApiUnderTest['call']>) => {
      const answer = await api.call(...args);
      answers.push(answer.text);
      return answer;
    };
    const caption = await call('POST', '/video/caption', {
      body: {
        url_video: media.urls['video.mp4'],
        url_srt: media.urls['legendas.srt'],
        path: `${media.prefix}out/`,
        output_filename: 'legendado.mp4',
        async: true,
        webhook_url: `${webhook.url}/hook?token=${WEBHOOK_SECRET}`,
      },
    });
    expect(caption.status).toBe(202);
    const addaudio = await call('POST', '/video/addaudio', {
      body: {
        url_video: media.urls['video.mp4'],
        url_audio: media.urls['audio.mp3'],
        path: `${media.prefix}out/`,
        output_filename: 'com_áudio.mp4',
      },
    });
    expect(addaudio.status).toBe(200);
    const img2vid = await call('POST', '/video/img2vid', {
      body: { images: [{ id: 'imagem', image_url: media.urls['image.jpg'], duracao: 1 }], path: `${media.prefix}out/` },
    });
    expect(img2vid.status).toBe(200);
    const transcribe = await call('POST', '/transcribe', {
      body: { audio_url: media.urls['speech.wav'], path: `${media.prefix}out/`, language: 'en', model: 'tiny.en' },
    });
    expect(transcribe.status).toBe(200);
    const failing = await call('POST', '/video/caption', {
      body: {
        url_video: `${media.urls['video.mp4']}-missing?X-Amz-Signature=leak&X-Amz-Credential=${s3.accessKey}`,
        url_srt: media.urls['legendas.srt'],
        path: `${media.prefix}out/`,
        output_filename: 'nunca.mp4',
      },
    });
    expect(failing.status).toBeGreaterThanOrEqual(400);
    await call('GET', `/runpod/config?api_key=${api.key}`, { key: 'wrong-key' });
    await call('GET', '/runpod/health');
    await call('GET', '/runpod/config');
    await call('GET', '/admin/queues/api/queues', {
      key: null,
      headers: { authorization: `Basic ${Buffer.from(`admin:${api.key}`).toString('base64')}` },
    });
    await call('GET', '/metrics', { key: null });
    await call('GET', '/health', { key: null });
    await waitFor('the webhook delivered', () => Promise.resolve(webhook.received.length > 0 || undefined), 60_000);
    await node.stop();
    await api.stop();

    const secrets = [api.key, 'other-key-for-rotation', s3.accessKey, s3.secretKey, WEBHOOK_SECRET, RUNPOD_API_KEY];
    const forms = secrets.flatMap((secret) => [
      secret,
      encodeURIComponent(secret),
      Buffer.from(`admin:${secret}`).toString('base64'),
    ]);
    // The search itself finds a secret where one legitimately is: in the webhook URL the receiver saw.
    expect(webhook.received.join('\n')).toContain(WEBHOOK_SECRET);
    const logs = { api: api.output, node: node.output };
    expect(logs.api.length).toBeGreaterThan(1000);
    expect(logs.node.length).toBeGreaterThan(100);
    for (const [name, text] of [...Object.entries(logs), ['answers', answers.join('\n')]]) {
      const found = forms.filter((form) => text.includes(form)).map((form) => `${form.slice(0, 4)}…`);
      expect({ where: name, found }).toEqual({ where: name, found: [] });
    }
    for (const [name, text] of Object.entries(logs)) {
      expect({ where: name, presigned: /X-Amz-(Signature|Credential)=/i.test(text) }).toEqual({ where: name, presigned: false });
    }
  });
});
