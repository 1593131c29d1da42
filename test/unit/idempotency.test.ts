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

  test('a snapshot restored elsewhere replays the same answers, keeps expiry, and the newer window bounds it', () => {
    let now = 0;
    const old = new IdempotencyMemo(1000, 10, () => now);
    old.remember('/c', 'k1', 'one', { offset: 1, epoch: 'e' });
    now = 400;
    old.remember('/d', 'k2', 'two', { offset: 7, epoch: 'f' });
    const keys = JSON.parse(JSON.stringify(old.snapshot())) as ReturnType<typeof old.snapshot>;
    expect(keys.map((k) => [k.channel, k.key])).toEqual([
      ['/c', 'k1'],
      ['/d', 'k2'],
    ]);

    const next = new IdempotencyMemo(1000, 10, () => now);
    next.restore(keys);
    expect(next.replay('/c', 'k1', 'one')).toEqual({ offset: 1, epoch: 'e', replayed: true });
    expect(() => next.replay('/d', 'k2', 'other')).toThrow(IdempotencyKeyReusedError);
    now = 1000; // k1's window is over, k2's is not
    expect(next.replay('/c', 'k1', 'one')).toBeUndefined();
    expect(next.replay('/d', 'k2', 'two')).toEqual({ offset: 7, epoch: 'f', replayed: true });

    const shorter = new IdempotencyMemo(100, 10, () => now);
    shorter.restore(keys);
    now = 1099;
    expect(shorter.replay('/d', 'k2', 'two')).toMatchObject({ offset: 7 });
    now = 1100;
    expect(shorter.replay('/d', 'k2', 'two')).toBeUndefined();
    const none = new IdempotencyMemo(0);
    none.restore(keys);
    expect(none.size).toBe(0);
  });
});
