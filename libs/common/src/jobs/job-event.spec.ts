import { mayHaveEnded, parseJobEvent } from './job-event';
import { JobStatus } from './job-status';

describe('job events', () => {
  it("reads the store's JSON events, a bare id as a nudge, and nothing from what names no job", () => {
    expect(parseJobEvent('{"id":"a","status":"IN_PROGRESS","progress":12.5,"parentId":"p"}')).toEqual({
      id: 'a',
      status: JobStatus.InProgress,
      progress: 12.5,
      parentId: 'p',
    });
    expect(parseJobEvent('a')).toEqual({ id: 'a' });
    expect(parseJobEvent('')).toBeNull();
    expect(parseJobEvent('{"status":"FAILED"}')).toBeNull();
    expect(parseJobEvent('{not json')).toBeNull();
  });

  it('tells a listener waiting for ends to read the record on an end or a nudge, not on a tick', () => {
    expect(mayHaveEnded({ id: 'a', status: JobStatus.InProgress, progress: 40 })).toBe(false);
    expect(mayHaveEnded({ id: 'a', status: JobStatus.InQueue })).toBe(false);
    expect(mayHaveEnded({ id: 'a', status: JobStatus.Completed })).toBe(true);
    expect(mayHaveEnded({ id: 'a', status: JobStatus.Cancelled })).toBe(true);
    expect(mayHaveEnded({ id: 'a' })).toBe(true);
  });
});
