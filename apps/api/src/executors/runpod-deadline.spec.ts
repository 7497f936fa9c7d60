import { executionTimeoutS } from './runpod-dispatcher';

describe('executionTimeoutS', () => {
  it("is the job's deadline plus the worker's grace to clean up", () => {
    expect(executionTimeoutS(3600, 90)).toBe(120);
  });

  it('never passes RUNPOD_EXECUTION_TIMEOUT', () => {
    expect(executionTimeoutS(600, 3600)).toBe(600);
  });

  it('is RUNPOD_EXECUTION_TIMEOUT for a job without a deadline', () => {
    expect(executionTimeoutS(600, undefined)).toBe(600);
  });
});
