import { IdempotencyMemo } from '../../src/master/broker/idempotency';
import { IdempotencyKeyReusedError } from '../../src/master/broker/types';

describe('IdempotencyMemo: the in-memory keys stay bounded', () => {
  test('at most maxKeys are kept, the oldest dropped first', () => {
    const memo = new IdempotencyMemo(60_000, 3);
    for (let i = 1; i <= 5; i += 1) memo.remember('/c', `k${i}`, 'd', { offset: i, epoch: 'e' });
    expect(memo.size).toBe(3);
    expect(memo.replay('/c', 'k1', 'd')).toBeUndefined();
    expect(memo.replay('/c', 'k2', 'd')).toBeUndefined();
    expect(memo.replay('/c', 'k5', 'd')).toEqual({ offset: 5, epoch: 'e', replayed: true });
  });

  test('a key lives its window; other data under it is refused; keys are per channel', () => {
    let now = 0;
    const memo = new IdempotencyMemo(1000, 10, () => now);
    memo.remember('/c', 'k', 'data', { offset: 4, epoch: 'e' });
    expect(memo.replay('/other', 'k', 'data')).toBeUndefined();
    expect(() => memo.replay('/c', 'k', 'other')).toThrow(IdempotencyKeyReusedError);
    now = 999;
    expect(memo.replay('/c', 'k', 'data')).toMatchObject({ offset: 4 });
    now = 1000;
    expect(memo.replay('/c', 'k', 'data')).toBeUndefined();
    expect(memo.size).toBe(0);
  });

  test('window 0: nothing is kept', () => {
    const memo = new IdempotencyMemo(0);
    memo.remember('/c', 'k', 'd', { offset: 1, epoch: 'e' });
    expect(memo.replay('/c', 'k', 'd')).toBeUndefined();
  });
});
