import { Lifetimes, lifetimeMs } from '../../workers/lifetimes';

describe('lifetimeMs', () => {
  test('is the lifetime plus up to 10% of it', () => {
    expect(lifetimeMs(100, () => 0)).toBe(100_000);
    expect(lifetimeMs(100, () => 0.5)).toBe(105_000);
    expect(lifetimeMs(100, () => 0.999)).toBeCloseTo(109_990);
  });
});

describe('Lifetimes', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  function clocks(maxLifetime: number, idleTimeout: number) {
    const closes: [number, string][] = [];
    const logs: string[] = [];
    const lifetimes = new Lifetimes({
      maxLifetime,
      idleTimeout,
      close: (code, reason) => closes.push([code, reason]),
      log: (line) => logs.push(line),
      random: () => 0.5,
    });
    lifetimes.start();
    return { lifetimes, closes, logs };
  }

  test('an idle client is closed with 4004 once the timeout passes without data', () => {
    const { closes } = clocks(0, 10);
    jest.advanceTimersByTime(9_999);
    expect(closes).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(closes).toEqual([[4004, 'idle timeout']]);
  });

  test('each data message starts the idle clock again', () => {
    const { lifetimes, closes } = clocks(0, 10);
    for (let i = 0; i < 5; i += 1) {
      jest.advanceTimersByTime(6_000);
      lifetimes.touch();
    }
    expect(closes).toEqual([]);
    jest.advanceTimersByTime(10_000);
    expect(closes).toEqual([[4004, 'idle timeout']]);
  });

  test('max lifetime closes with 4003 at the jittered time, however busy', () => {
    const { lifetimes, closes } = clocks(100, 10);
    for (let t = 0; t < 104_000; t += 1_000) {
      lifetimes.touch();
      jest.advanceTimersByTime(1_000);
    }
    expect(closes).toEqual([]);
    lifetimes.touch();
    jest.advanceTimersByTime(1_000);
    expect(closes).toEqual([[4003, 'max lifetime']]);
  });

  test('closes once, and never after stop', () => {
    const { lifetimes, closes } = clocks(1, 1);
    jest.advanceTimersByTime(5_000);
    expect(closes).toHaveLength(1);
    const other = clocks(1, 1);
    other.lifetimes.stop();
    jest.advanceTimersByTime(5_000);
    expect(other.closes).toEqual([]);
    lifetimes.stop();
  });

  test('off at 0: no timer at all', () => {
    clocks(0, 0);
    expect(jest.getTimerCount()).toBe(0);
  });
});
