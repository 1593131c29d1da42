import { SparePolicy } from '../../src/master/pool/spare-policy';

/**
 * The idle target of --spare-workers N and MIN:MAX, on a clock of plain numbers (ms):
 * grows by one per client that waited, holds while spares are used, then falls one
 * step a second down to MIN.
 */

const HOLD = 30_000;
const STEP = 1000;

function adaptive(min: number, max: number): SparePolicy {
  return new SparePolicy({ min, max, holdMs: HOLD, stepMs: STEP });
}

/** Clients that found no ready spare, all at `now`. */
function waits(policy: SparePolicy, count: number, now: number): void {
  for (let i = 0; i < count; i++) policy.waited(now);
}

describe('SparePolicy', () => {
  it('N alone: always N, whatever clients do, and never a change to wait for', () => {
    const policy = new SparePolicy({ min: 2, max: 2 });
    expect(policy.adaptive).toBe(false);
    waits(policy, 20, 0);
    policy.taken(10, 0);
    for (const now of [0, 10, 60_000, 3_600_000]) {
      expect(policy.target(now)).toBe(2);
      expect(policy.nextChangeAt(now)).toBeUndefined();
    }
  });

  it('MIN:MAX starts at MIN with nothing scheduled', () => {
    const policy = adaptive(2, 8);
    expect(policy.adaptive).toBe(true);
    expect(policy.target(0)).toBe(2);
    expect(policy.nextChangeAt(0)).toBeUndefined();
  });

  it('each client that waited raises the target by one, up to MAX', () => {
    const policy = adaptive(2, 8);
    waits(policy, 3, 100);
    expect(policy.target(100)).toBe(5);
    waits(policy, 15, 150);
    expect(policy.target(150)).toBe(8);
  });

  it('holds for the hold time after the last wait, then falls one a step down to MIN', () => {
    const policy = adaptive(2, 6);
    waits(policy, 10, 1000);
    const falls = 1000 + HOLD;
    expect(policy.target(falls - 1)).toBe(6);
    expect(policy.nextChangeAt(falls - 1)).toBe(falls);
    expect(policy.target(falls)).toBe(5);
    expect(policy.nextChangeAt(falls)).toBe(falls + STEP);
    expect(policy.target(falls + STEP - 1)).toBe(5);
    expect(policy.target(falls + STEP)).toBe(4);
    expect(policy.target(falls + 2.5 * STEP)).toBe(3);
    expect(policy.nextChangeAt(falls + 2.5 * STEP)).toBe(falls + 3 * STEP);
    expect(policy.target(falls + 3 * STEP)).toBe(2);
    expect(policy.nextChangeAt(falls + 3 * STEP)).toBeUndefined();
    expect(policy.target(falls + 3_600_000)).toBe(2);
  });

  it('a wait while it falls holds it again where it is, plus one', () => {
    const policy = adaptive(2, 8);
    waits(policy, 6, 0); // 8
    const now = HOLD + 1.5 * STEP; // fallen twice: 6
    expect(policy.target(now)).toBe(6);
    policy.waited(now);
    expect(policy.target(now)).toBe(7);
    expect(policy.target(now + HOLD - 1)).toBe(7);
    expect(policy.target(now + HOLD)).toBe(6);
  });

  it('a take that leaves fewer than MIN ready renews the hold, and does not raise it', () => {
    const policy = adaptive(2, 8);
    waits(policy, 6, 0); // 8
    policy.taken(20_000, 1);
    expect(policy.target(20_000)).toBe(8);
    expect(policy.target(20_000 + HOLD - 1)).toBe(8);
    expect(policy.nextChangeAt(20_000)).toBe(20_000 + HOLD);
  });

  it('takes that leave MIN or more ready do not hold it: a trickle lets it fall', () => {
    const policy = adaptive(2, 8);
    waits(policy, 6, 0); // 8
    // One client a second, each leaving plenty ready.
    for (let now = 1000; now < HOLD + 10 * STEP; now += 1000) policy.taken(now, 5);
    expect(policy.target(HOLD)).toBe(7);
    expect(policy.target(HOLD + 5 * STEP)).toBe(2);
  });

  it('with MIN 0, a take that leaves none ready holds the target', () => {
    const policy = adaptive(0, 4);
    policy.waited(0);
    expect(policy.target(0)).toBe(1);
    policy.taken(HOLD - 1, 0);
    expect(policy.target(HOLD + 1)).toBe(1);
    policy.taken(HOLD + 2, 1); // one left: not used up
    expect(policy.target(2 * HOLD - 2)).toBe(1);
    expect(policy.target(2 * HOLD - 1)).toBe(0);
    expect(policy.nextChangeAt(2 * HOLD - 1)).toBeUndefined();
  });

  it('0:0 and MIN = MAX are fixed', () => {
    for (const [min, max] of [
      [0, 0],
      [5, 5],
    ]) {
      const policy = adaptive(min, max);
      waits(policy, 3, 0);
      expect(policy.target(0)).toBe(min);
      expect(policy.nextChangeAt(0)).toBeUndefined();
    }
  });

  it.each([
    [3, 1],
    [-1, 2],
    [1.5, 2],
  ])('refuses %d:%d', (min, max) => {
    expect(() => new SparePolicy({ min, max })).toThrow(RangeError);
  });

  it('defaults to a 30 s hold and a step of one second', () => {
    const policy = new SparePolicy({ min: 1, max: 3 });
    waits(policy, 2, 0);
    expect(policy.target(29_999)).toBe(3);
    expect(policy.target(30_000)).toBe(2);
    expect(policy.target(31_000)).toBe(1);
  });
});
