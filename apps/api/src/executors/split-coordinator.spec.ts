import { JobEnder, JobStatus, JobStore } from '@app/common';
import type Redis from 'ioredis';
import { StorageService } from '../storage/storage.service';
import { ExecutorSelector } from './executor-selector';
import { SplitCoordinator } from './split-coordinator';

/** The coordinator over a stand-in store whose parent has two running parts. */
function setUp() {
  const store = {
    peek: jest.fn().mockImplementation((ids: string[]) =>
      Promise.resolve(
        ids[0] === 'parent'
          ? [{ status: JobStatus.InProgress, parts: [{ id: 'part-1', start: 0, count: 2, executor: 'local' }, { id: 'part-2', start: 2, count: 2, executor: 'local' }] }]
          : ids.map((id) => ({ status: JobStatus.InProgress, parentId: id.startsWith('part') ? 'parent' : undefined })),
      ),
    ),
    get: jest.fn().mockResolvedValue(null),
  };
  const coordinator = new SplitCoordinator(
    store as unknown as JobStore,
    { end: jest.fn() } as unknown as JobEnder,
    { cancel: jest.fn() } as unknown as ExecutorSelector,
    {} as StorageService,
    {} as Redis,
  );
  const hear = (message: string) => (coordinator as unknown as { partChanged(event: unknown): Promise<void> }).partChanged(JSON.parse(message));
  return { store, hear };
}

describe('SplitCoordinator: what it reads for each job event', () => {
  it("reads nothing for a part's progress tick or start, nor for a job outside any batch", async () => {
    const { store, hear } = setUp();
    await hear('{"id":"part-1","status":"IN_PROGRESS","progress":42.5,"parentId":"parent"}');
    await hear('{"id":"part-1","status":"IN_QUEUE","progress":0,"parentId":"parent"}');
    await hear('{"id":"other","status":"COMPLETED","progress":100}');
    expect(store.peek).not.toHaveBeenCalled();
  });

  it("looks at the batch when a part ends, and looks a nudged job's parent up first", async () => {
    const ended = setUp();
    await ended.hear('{"id":"part-2","status":"FAILED","progress":10,"parentId":"parent"}');
    expect(ended.store.peek.mock.calls[0]).toEqual([['parent'], ['parts']]);
    const nudged = setUp();
    await nudged.hear('{"id":"part-1"}');
    expect(nudged.store.peek.mock.calls[0]).toEqual([['part-1'], ['parentId']]);
    expect(nudged.store.peek.mock.calls[1]).toEqual([['parent'], ['parts']]);
  });
});
