import { MemoryCeiling } from '../../workers/memory-ceiling';

/**
 * The worker's memory ceiling on a fake clock and a fake RSS: it looks a second after
 * activity, once however many touches, and never while the worker is idle.
 */

const MB = 1024 * 1024;

function ceiling(limitMb: number) {
  let rss = 50 * MB;
  const reads: number[] = [];
  const over: number[] = [];
  const memory = new MemoryCeiling(
    limitMb * MB,
    (bytes) => over.push(bytes),
    () => {
      reads.push(rss);
      return rss;
    },
  );
  return { memory, reads, over, grow: (mb: number) => (rss = mb * MB) };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('an idle worker arms no timer and never reads its RSS', () => {
  const { reads } = ceiling(100);
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(60_000);
  expect(reads).toHaveLength(0);
});

test('activity is looked at once, a second later, however many touches came', () => {
  const { memory, reads } = ceiling(100);
  for (let i = 0; i < 500; i++) memory.touch();
  expect(jest.getTimerCount()).toBe(1);
  jest.advanceTimersByTime(999);
  expect(reads).toHaveLength(0);
  jest.advanceTimersByTime(1);
  expect(reads).toHaveLength(1);
  // Quiet again: nothing more to read, nothing armed.
  jest.advanceTimersByTime(10_000);
  expect(reads).toHaveLength(1);
  expect(jest.getTimerCount()).toBe(0);
  memory.touch();
  jest.advanceTimersByTime(1000);
  expect(reads).toHaveLength(2);
});

test('over the limit: `over` is called once with the RSS, and touches after it arm nothing', () => {
  const { memory, over, grow } = ceiling(100);
  memory.touch();
  jest.advanceTimersByTime(1000);
  expect(over).toEqual([]);
  grow(101);
  memory.touch();
  jest.advanceTimersByTime(1000);
  expect(over).toEqual([101 * MB]);
  memory.touch();
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(5000);
  expect(over).toHaveLength(1);
});

test('a limit of 0 (off) never arms a timer', () => {
  const { memory, reads } = ceiling(0);
  memory.touch();
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(5000);
  expect(reads).toHaveLength(0);
});

test('stop clears a pending look', () => {
  const { memory, reads } = ceiling(100);
  memory.touch();
  memory.stop();
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(5000);
  expect(reads).toHaveLength(0);
});
