import { storedError } from './stored-error';

describe('storedError', () => {
  it('keeps the name and message, and no file-system path of the stack', () => {
    const error = storedError(new TypeError('worker 0 is busy'));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('worker 0 is busy');
    expect(error.stack).toBe('TypeError: worker 0 is busy');
    expect(error.stack).not.toMatch(/\/|\.ts|\.js/);
  });

  it('turns anything thrown into an Error', () => {
    expect(storedError('lost').stack).toBe('Error: lost');
  });
});
