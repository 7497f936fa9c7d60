import { JobOperation, JobRecord, JobStatus } from '@app/common';
import { ConfigService } from '@nestjs/config';
import { GpuNodeEnv } from '../config/gpu-node-env';
import { JobDeadlines } from './job-deadlines.service';

const config = new ConfigService<GpuNodeEnv, true>({ JOB_DEADLINE_FLOOR_S: 60, JOB_MAX_RUNTIME_S: 3600, JOB_DEADLINE_GRACE_S: 30 });

const record = (update: Partial<JobRecord>): JobRecord => ({
  id: 'job-1',
  operation: JobOperation.Img2Vid,
  status: JobStatus.InProgress,
  input: { path: 'p/', images: [{ id: 'a', image_url: 'https://example.com/a.jpg', duracao: 10 }] },
  executor: 'local',
  progress: 0,
  createdAt: new Date().toISOString(),
  ...update,
});

describe('JobDeadlines', () => {
  const deadlines = new JobDeadlines(config);

  afterEach(() => jest.useRealTimers());

  it("uses the deadline the API gave the job, else the same figure computed from its input", () => {
    expect(deadlines.of(record({ deadlineS: 42 }))).toBe(42);
    const computed = deadlines.of(record({}));
    expect(computed).toBeGreaterThan(60);
    expect(computed).toBeLessThan(3600);
  });

  it('fires the backstop only once the deadline and the grace have passed', () => {
    jest.useFakeTimers();
    const onExpired = jest.fn();
    const backstop = deadlines.backstop(10, onExpired);
    jest.advanceTimersByTime(39_999);
    expect(onExpired).not.toHaveBeenCalled();
    expect(backstop.fired).toBe(false);
    jest.advanceTimersByTime(1);
    expect(onExpired).toHaveBeenCalledTimes(1);
    expect(backstop.fired).toBe(true);
  });

  it('never fires a cancelled backstop', () => {
    jest.useFakeTimers();
    const onExpired = jest.fn();
    deadlines.backstop(1, onExpired).cancel();
    jest.advanceTimersByTime(60_000);
    expect(onExpired).not.toHaveBeenCalled();
  });

  it('describes the timed-out job as a 504 with the timed_out code', () => {
    expect(deadlines.failure(90)).toEqual({
      error: 'Gateway Timeout',
      message: 'the job ran past its deadline of 90 s and its worker was stopped',
      code: 'timed_out',
    });
  });
});
