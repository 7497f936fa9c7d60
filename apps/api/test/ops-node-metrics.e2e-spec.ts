import type { NodeHeartbeat } from '@app/common';
import { ApiUnderTest, TestMedia } from '../../../test/support/api-e2e';
import { Deployment, startDeployment } from '../../../test/support/deployment';
import { waitFor } from '../../../test/support/processes';

jest.setTimeout(300_000);

const NODE_ID = 'ops-metrics-node';

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A GPU node's own Prometheus metrics on its health port, after real jobs through the API. */
describe('GPU node /metrics (API and node processes, real worker, Redis and MinIO)', () => {
  let deployment: Deployment;
  let media: TestMedia;
  let api: ApiUnderTest;
  let metricsUrl: string;

  const scrape = async () => {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.text();
  };

  beforeAll(async () => {
    deployment = await startDeployment({
      name: 'ops-node-metrics',
      media: ['video.mp4', 'audio.mp3', 'speech.wav'],
      env: { SYNC_TIMEOUT_S: '240' },
      nodes: [NODE_ID],
    });
    ({ api, media } = deployment);
    metricsUrl = deployment.node.metricsUrl;
  });

  afterAll(() => deployment?.stop());

  it('shows its slots, ready workers and the encoder its heartbeat reports, before any job', async () => {
    const text = await scrape();
    expect(metricValue(text, 'gpu_node_slots')).toBe(1);
    expect(metricValue(text, 'gpu_node_free_slots')).toBe(1);
    expect(metricValue(text, 'gpu_node_ready_workers')).toBe(1);
    expect(metricValue(text, 'gpu_node_draining')).toBe(0);
    const health = await api.call<{ nodes: NodeHeartbeat[] }>('GET', '/health');
    const beat = health.body.nodes.find((n) => n.nodeId === NODE_ID);
    expect(beat?.encoder).toEqual(expect.any(String));
    expect(
      metricValue(text, `gpu_node_encoder_info{encoder="${beat?.encoder}",whisper_device="${beat?.whisperDevice}",gpu="${beat?.gpu ?? 'none'}"}`),
    ).toBe(1);
    expect(text).not.toContain('gpu_node_jobs_total{');
  });

  it('counts the jobs it ran by operation and outcome, with FFmpeg and whisper run times', async () => {
    const out = `${media.prefix}out/`;
    const addaudio = await api.call('POST', '/video/addaudio', {
      body: { url_video: media.urls['video.mp4'], url_audio: media.urls['audio.mp3'], path: out, output_filename: 'áudio.mp4' },
    });
    expect(addaudio.status).toBe(200);
    const transcribe = await api.call('POST', '/transcribe', {
      body: { audio_url: media.urls['speech.wav'], path: out, language: 'en', model: 'tiny.en' },
    });
    expect(transcribe.status).toBe(200);
    const failing = await api.call('POST', '/video/addaudio', {
      body: { url_video: `${media.urls['video.mp4']}.missing`, url_audio: media.urls['audio.mp3'], path: out, output_filename: 'x.mp4' },
    });
    expect(failing.status).toBe(400);

    const text = await waitFor('the three jobs counted', async () => {
      const scraped = await scrape();
      return metricValue(scraped, 'gpu_node_jobs_total{operation="addaudio",outcome="failed"}') === 1 &&
        metricValue(scraped, 'gpu_node_jobs_total{operation="transcribe",outcome="completed"}') === 1
        ? scraped
        : undefined;
    });
    expect(metricValue(text, 'gpu_node_jobs_total{operation="addaudio",outcome="completed"}')).toBe(1);
    expect(metricValue(text, 'gpu_node_ffmpeg_job_seconds_count{operation="addaudio",outcome="completed"}')).toBe(1);
    expect(metricValue(text, 'gpu_node_ffmpeg_job_seconds_sum{operation="addaudio",outcome="completed"}')).toBeGreaterThan(0);
    expect(metricValue(text, 'gpu_node_whisper_job_seconds_count{outcome="completed"}')).toBe(1);
    expect(metricValue(text, 'gpu_node_whisper_job_seconds_sum{outcome="completed"}')).toBeGreaterThan(0);
    expect(text).not.toContain('operation="caption"');
  });
});
