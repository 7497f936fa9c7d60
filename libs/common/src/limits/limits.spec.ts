import { JobOperation } from '../contract/operations';
import { deadlineAt, jobDeadlineSeconds } from './job-deadline';
import { checkWorkLimits } from './work-limits';

const settings = { floorS: 60, maxS: 3600 };
const images = (count: number, duracao: number) => ({
  path: 'p/',
  images: Array.from({ length: count }, (_, i) => ({ id: `i${i}`, image_url: 'https://example.com/a.jpg', duracao })),
});

describe('jobDeadlineSeconds', () => {
  it('grows with the output an img2vid batch declares, from the floor', () => {
    const one = jobDeadlineSeconds(JobOperation.Img2Vid, images(1, 5), settings);
    const ten = jobDeadlineSeconds(JobOperation.Img2Vid, images(10, 5), settings);
    expect(one).toBeGreaterThan(settings.floorS);
    expect(ten).toBeGreaterThan(one);
    expect(ten).toBeLessThan(settings.maxS);
  });

  it('never passes the cap, however much work is asked', () => {
    expect(jobDeadlineSeconds(JobOperation.Img2Vid, images(500, 600), settings)).toBe(3600);
  });

  it('gives operations whose length is only known after probing the cap', () => {
    for (const operation of [JobOperation.Caption, JobOperation.AddAudio, JobOperation.Transcribe]) {
      expect(jobDeadlineSeconds(operation, { url_video: 'https://example.com/v.mp4' }, settings)).toBe(3600);
    }
  });

  it('gives compose the time of its longest video (the narration may hold the last image) with its extra steps', () => {
    const input = { ...images(12, 5), narration_url: 'https://example.com/n.mp3' };
    const compose = jobDeadlineSeconds(JobOperation.Compose, input, settings);
    expect(compose).toBeGreaterThan(jobDeadlineSeconds(JobOperation.Img2Vid, images(12, 5), settings));
    expect(compose).toBe(Math.ceil(settings.floorS + (60 * 2 + 10) * 5 + 12 * 2));
  });

  it('dates the deadline from the start', () => {
    expect(deadlineAt('2026-01-01T00:00:00.000Z', 90)).toBe('2026-01-01T00:01:30.000Z');
  });
});

describe('checkWorkLimits', () => {
  it('refuses an img2vid batch whose clips add up past MAX_TOTAL_OUTPUT_S, naming images', () => {
    const violation = checkWorkLimits(JobOperation.Img2Vid, images(500, 600), { maxTotalOutputS: 7200 });
    expect(violation?.field).toBe('images');
    expect(violation?.message).toContain('MAX_TOTAL_OUTPUT_S');
  });

  it('refuses a compose whose images add up past MAX_TOTAL_OUTPUT_S, naming images', () => {
    const violation = checkWorkLimits(JobOperation.Compose, images(100, 100), { maxTotalOutputS: 7200 });
    expect(violation?.field).toBe('images');
  });

  it('lets a batch inside the limit through, and operations that declare no output length', () => {
    expect(checkWorkLimits(JobOperation.Img2Vid, images(10, 6), { maxTotalOutputS: 7200 })).toBeNull();
    expect(checkWorkLimits(JobOperation.Caption, { url_video: 'x' }, { maxTotalOutputS: 1 })).toBeNull();
  });
});
