import fc from 'fast-check';
import { seededRandom } from '../../scripts/lib/seeded-random';
import { DemoPushes, demoMessage, drawInterval } from '../../workers/demo-pushes';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 2 ** 31);

/** Names the seed in a failure, so that a run can be repeated (TEST_SEED=...). */
function withSeed(check: () => void): void {
  try {
    check();
  } catch (error) {
    throw new Error(`seed ${SEED} (rerun with TEST_SEED=${SEED}): ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The closest number below 1 that Math.random() may return. */
const ALMOST_ONE = 1 - 2 ** -53;

describe('drawInterval', () => {
  it('whole bounds: whole seconds from min to max, both included', () => {
    expect(drawInterval(2, 5, () => 0)).toBe(2);
    expect(drawInterval(2, 5, () => ALMOST_ONE)).toBe(5);
    expect(drawInterval(3, 3, () => 0.5)).toBe(3);
  });

  it('whole bounds: seeded draws are whole, in range, and hit both ends', () => {
    withSeed(() => {
      const random = seededRandom(SEED);
      const seen = new Set<number>();
      for (let i = 0; i < 400; i++) {
        const value = drawInterval(2, 5, random);
        expect(Number.isInteger(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(2);
        expect(value).toBeLessThanOrEqual(5);
        seen.add(value);
      }
      expect([...seen].sort()).toEqual([2, 3, 4, 5]);
    });
  });

  it('property: whole bounds give whole values in [min, max]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 0, max: 3600 }),
        fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }),
        (min, span, r) => {
          const value = drawInterval(min, min + span, () => r);
          expect(Number.isInteger(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(min);
          expect(value).toBeLessThanOrEqual(min + span);
        },
      ),
    );
  });

  it('property: bounds with up to 3 decimals give values in range with at most 3 decimals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }),
        (minMs, spanMs, r) => {
          const min = minMs / 1000;
          const max = (minMs + spanMs) / 1000;
          fc.pre(!(Number.isInteger(min) && Number.isInteger(max)));
          const value = drawInterval(min, max, () => r);
          expect(value).toBeGreaterThanOrEqual(min);
          expect(value).toBeLessThanOrEqual(max);
          expect(Math.abs(value * 1000 - Math.round(value * 1000))).toBeLessThan(1e-6);
        },
      ),
    );
  });

  it('decimal bounds: seeded draws spread over the range', () => {
    withSeed(() => {
      const random = seededRandom(SEED);
      const values = Array.from({ length: 400 }, () => drawInterval(0.5, 1.5, random));
      expect(Math.min(...values)).toBeLessThan(0.6);
      expect(Math.max(...values)).toBeGreaterThan(1.4);
      expect(values.some((value) => !Number.isInteger(value))).toBe(true);
    });
  });
});

describe('DemoPushes', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Math, 'random').mockImplementation(seededRandom(SEED));
  });

  afterEach(() => {
    jest.restoreAllMocks();
    jest.clearAllTimers();
    jest.useRealTimers();
  });

  /** The seconds a pushed demo message announces. */
  function announced(text: string | undefined): number {
    const match = /^I am waiting ([\d.]+) seconds$/.exec(text ?? '');
    if (match === null) throw new Error(`not a demo message: ${text}`);
    return Number(match[1]);
  }

  it('pushes at once, then again after each announced interval', () => {
    withSeed(() => {
      const pushed: string[] = [];
      const demo = new DemoPushes(2, 5, (text) => pushed.push(text));
      demo.start();
      expect(pushed).toHaveLength(1);
      for (let round = 1; round <= 5; round++) {
        const seconds = announced(pushed.at(-1));
        expect(seconds).toBeGreaterThanOrEqual(2);
        expect(seconds).toBeLessThanOrEqual(5);
        jest.advanceTimersByTime(seconds * 1000 - 1);
        expect(pushed).toHaveLength(round);
        jest.advanceTimersByTime(1);
        expect(pushed).toHaveLength(round + 1);
      }
      demo.stop();
    });
  });

  it('decimal intervals are waited to the millisecond', () => {
    withSeed(() => {
      const pushed: string[] = [];
      const demo = new DemoPushes(0.25, 0.75, (text) => pushed.push(text));
      demo.start();
      const seconds = announced(pushed[0]);
      jest.advanceTimersByTime(Math.round(seconds * 1000) - 1);
      expect(pushed).toHaveLength(1);
      jest.advanceTimersByTime(1);
      expect(pushed).toHaveLength(2);
      demo.stop();
    });
  });

  it('stop() ends the pushes', () => {
    const pushed: string[] = [];
    const demo = new DemoPushes(1, 2, (text) => pushed.push(text));
    demo.start();
    jest.advanceTimersByTime(announced(pushed[0]) * 1000);
    expect(pushed).toHaveLength(2);
    demo.stop();
    jest.advanceTimersByTime(60_000);
    expect(pushed).toHaveLength(2);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stop() from inside a push schedules nothing more', () => {
    const pushed: string[] = [];
    const demo: DemoPushes = new DemoPushes(1, 2, (text) => {
      pushed.push(text);
      demo.stop();
    });
    demo.start();
    expect(pushed).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('the message is the original wording', () => {
    expect(demoMessage(3)).toBe('I am waiting 3 seconds');
    expect(demoMessage(0.125)).toBe('I am waiting 0.125 seconds');
  });
});
