import { JobRecord, JobStore, isTerminal } from '@app/common';
import { waitFor } from '../../../../test/support/processes';
import type { ApiUnderTest, TestMedia } from '../../../../test/support/api-e2e';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;

/** Two frames at 24 fps: the cheapest clip there is, so a 150-image batch stays affordable on 2 cores. */
export const TWO_FRAMES_S = 2 / 24;

export interface BatchImage {
  id: string;
  image_url: string;
  duracao: number;
}

/**
 * `count` images of one tiny picture with ids a client might send: accents, and one id used twice
 * (each image still gets its own clip, named by position).
 */
export function batchOf(count: number, imageUrl: string, duracao = TWO_FRAMES_S): BatchImage[] {
  return Array.from({ length: count }, (_, index) => ({
    id: index === 7 ? 'imagem-7' : `imagem-${index}${index % 5 === 0 ? '-ação' : ''}`,
    image_url: imageUrl,
    duracao,
  }));
}

/** One clip of an img2vid answer. */
export interface Clip {
  id: string;
  filename: string;
  video_url: string;
}

/** The answer of one job for `images`: clip n+1 carries image n's id, in input order. */
export function expectMergedInOrder(videos: Clip[], images: BatchImage[], publicPrefix: string): void {
  expect(videos.map((video) => video.id)).toEqual(images.map((image) => image.id));
  expect(videos.map((video) => video.filename)).toEqual(images.map((_, index) => `video_${index + 1}.mp4`));
  videos.forEach((video, index) => {
    expect(video.video_url).toBe(`${publicPrefix}video_${index + 1}.mp4`);
  });
}

/** Keys `video_1.mp4`... under `path`, as MinIO lists them (lexically). */
export function clipKeys(path: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${path}video_${index + 1}.mp4`).sort();
}

/** The parent's record and its parts' records, read straight from Redis. */
export async function splitRecords(store: JobStore, parentId: string): Promise<{ parent: JobRecord; parts: JobRecord[] }> {
  const parent = await store.get(parentId);
  if (!parent) throw new Error(`no record of job ${parentId}`);
  const parts = await Promise.all((parent.parts ?? []).map((part) => store.get(part.id)));
  if (parts.some((part) => part === null)) throw new Error(`a part of ${parentId} has no record`);
  return { parent, parts: parts as JobRecord[] };
}

export function untilEnded(api: ApiUnderTest, jobId: string, timeoutMs = 400_000): Promise<Body> {
  return waitFor(
    `job ${jobId} ended`,
    async () => {
      const { body } = await api.call<Body>('GET', `/job/${jobId}`);
      return typeof body.status === 'string' && isTerminal(body.status as JobRecord['status']) ? body : undefined;
    },
    timeoutMs,
  );
}

/** Until every part of the split job has ended, whatever ended it. */
export function untilPartsEnded(store: JobStore, parentId: string, timeoutMs = 120_000): Promise<JobRecord[]> {
  return waitFor(
    `every part of ${parentId} ended`,
    async () => {
      const { parts } = await splitRecords(store, parentId);
      return parts.length > 0 && parts.every((part) => isTerminal(part.status)) ? parts : undefined;
    },
    timeoutMs,
  );
}

/** Until nothing is left under `prefix` in the bucket. */
export function untilNothingUnder(media: TestMedia, prefix: string, timeoutMs = 60_000): Promise<true> {
  return waitFor(
    `nothing left under ${prefix}`,
    async () => ((await media.keysUnder(prefix)).length === 0 ? true : undefined),
    timeoutMs,
  );
}

/**
 * Watches a running split job until it ends. Returns each reading of the parent's progress with the
 * sum of its parts' progress weighted by their images, read just after: parts only move forward, so
 * a parent brought up to date from earlier readings can never be ahead of that sum.
 */
export async function watchProgress(
  store: JobStore,
  parentId: string,
  timeoutMs = 400_000,
): Promise<{ parent: number; parts: number; ended: boolean }[]> {
  const readings: { parent: number; parts: number; ended: boolean }[] = [];
  await waitFor(
    `job ${parentId} ended while its progress was watched`,
    async () => {
      const parent = await store.get(parentId);
      if (!parent) throw new Error(`no record of job ${parentId}`);
      const { parts } = await splitRecords(store, parentId);
      const total = (parent.parts ?? []).reduce((sum, part) => sum + part.count, 0);
      const weighted = (parent.parts ?? []).reduce((sum, part, index) => sum + parts[index].progress * part.count, 0);
      const ended = isTerminal(parent.status);
      readings.push({ parent: parent.progress, parts: total > 0 ? weighted / total : 0, ended });
      return ended ? true : undefined;
    },
    timeoutMs,
  );
  return readings;
}
