import { withTimeout } from './with-timeout';

describe('withTimeout', () => {
  it('passes the value through when the promise settles in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1000, 'answer')).resolves.toBe(42);
  });

  it('rejects naming what did not answer', async () => {
    const never = new Promise<void>(() => undefined);
    await expect(withTimeout(never, 20, 'redis ping')).rejects.toThrow(
      'redis ping: no answer within 20 ms',
    );
  });
});
