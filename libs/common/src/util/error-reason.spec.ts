import { errorReason } from './error-reason';

describe('errorReason', () => {
  it("tells an error's message, else its code, else its type; anything else thrown as text", () => {
    expect(errorReason(new Error('bucket not found'))).toBe('bucket not found');
    const refused = Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' });
    expect(errorReason(refused)).toBe('ECONNREFUSED');
    expect(errorReason(new TypeError(''))).toBe('TypeError');
    expect(errorReason('plain text')).toBe('plain text');
    expect(errorReason(undefined)).toBe('undefined');
  });
});
