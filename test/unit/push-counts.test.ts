import { PushCounts, type PushCountsRound } from '../../src/master/pool/push-counts';
import type { Worker } from '../../src/master/pool/worker';
import type { MasterMessage } from '../../src/shared/ipc';

/** Just what PushCounts uses of a Worker: sendBounded, recorded. */
interface FakeWorker {
  name: string;
  asked: MasterMessage[];
  /** false: a stuck worker whose channel takes no more messages. */
  accepts: boolean;
  sendBounded(message: MasterMessage): boolean;
}

function fakeWorker(name: string): Worker & FakeWorker {
  const fake: FakeWorker = {
    name,
    asked: [],
    accepts: true,
    sendBounded(message) {
      if (!fake.accepts) return false;
      fake.asked.push(message);
      return true;
    },
  };
  return fake as Worker & FakeWorker;
}

const TIMEOUT_MS = 500;
const MAX_AGE_MS = 1000;

function setup(...names: string[]): {
  counts: PushCounts;
  serving: (Worker & FakeWorker)[];
  clock: { now: number };
} {
  const serving = names.map(fakeWorker);
  const clock = { now: 0 };
  const counts = new PushCounts(
    () => serving,
    TIMEOUT_MS,
    MAX_AGE_MS,
    () => clock.now,
  );
  return { counts, serving, clock };
}

function track(promise: Promise<PushCountsRound>): { value: PushCountsRound | undefined } {
  const state: { value: PushCountsRound | undefined } = { value: undefined };
  void promise.then((value) => (state.value = value));
  return state;
}

/** Settles promise callbacks (timers are fake; microtasks are not). */
async function settle(): Promise<void> {
  await jest.advanceTimersByTimeAsync(0);
}

const reports = (worker: FakeWorker): number => worker.asked.length;

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
});

afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

describe('PushCounts', () => {
  it('concurrent reads share one round: one report request per worker', async () => {
    const { counts, serving } = setup('a', 'b');
    const [a, b] = serving;
    const first = counts.read();
    const second = counts.read();
    expect(first).toBe(second);
    expect(a.asked).toEqual([{ type: 'report' }]);
    expect(b.asked).toEqual([{ type: 'report' }]);
    counts.reported(a, 5);
    counts.reported(b, 7);
    const round = await first;
    expect([...round]).toEqual([
      [a, 5],
      [b, 7],
    ]);
    expect(await second).toBe(round);
  });

  it('reuses a finished round within maxAge while it covers every serving worker', async () => {
    const { counts, serving, clock } = setup('a');
    const [a] = serving;
    const pending = counts.read();
    counts.reported(a, 1);
    const round = await pending;
    clock.now = MAX_AGE_MS - 1;
    expect(await counts.read()).toBe(round);
    expect(reports(a)).toBe(1);
    clock.now = MAX_AGE_MS;
    const next = counts.read();
    expect(reports(a)).toBe(2);
    counts.reported(a, 2);
    expect((await next).get(a)).toBe(2);
  });

  it('a new serving worker forces a new round at once', async () => {
    const { counts, serving } = setup('a');
    const [a] = serving;
    const pending = counts.read();
    counts.reported(a, 1);
    await pending;
    const c = fakeWorker('c');
    serving.push(c);
    const next = counts.read();
    expect(reports(a)).toBe(2);
    expect(reports(c)).toBe(1);
    counts.reported(a, 3);
    counts.reported(c, 4);
    expect([...(await next).values()]).toEqual([3, 4]);
  });

  it('a worker that has left does not force a new round', async () => {
    const { counts, serving } = setup('a', 'b');
    const [a, b] = serving;
    const pending = counts.read();
    counts.reported(a, 1);
    counts.reported(b, 2);
    const round = await pending;
    serving.pop();
    expect(await counts.read()).toBe(round);
    expect(reports(a)).toBe(1);
  });

  it('a worker that does not answer is null after timeoutMs; the others count', async () => {
    const { counts, serving } = setup('quiet', 'talks');
    const [quiet, talks] = serving;
    const round = track(counts.read());
    counts.reported(talks, 9);
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(round.value).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(round.value?.get(quiet)).toBeNull();
    expect(round.value?.get(talks)).toBe(9);
    // Its late answer is ignored, and the next round asks it again.
    counts.reported(quiet, 100);
    expect(round.value?.get(quiet)).toBeNull();
  });

  it('a gone worker is forgotten: the round does not wait for it', async () => {
    const { counts, serving } = setup('gone', 'stays');
    const [gone, stays] = serving;
    const round = track(counts.read());
    counts.reported(stays, 3);
    await settle();
    expect(round.value).toBeUndefined();
    counts.forget(gone);
    await settle();
    expect(round.value?.get(gone)).toBeNull();
    expect(round.value?.get(stays)).toBe(3);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('forget and reported for a worker not asked change nothing', async () => {
    const { counts, serving } = setup('a');
    const stranger = fakeWorker('x');
    counts.forget(stranger);
    counts.reported(stranger, 1);
    const pending = counts.read();
    counts.forget(stranger);
    counts.reported(serving[0], 2);
    expect([...(await pending).values()]).toEqual([2]);
  });

  it('a stuck worker (channel full) is not waited for', async () => {
    const { counts, serving } = setup('stuck', 'ok');
    const [stuck, ok] = serving;
    stuck.accepts = false;
    const pending = counts.read();
    counts.reported(ok, 4);
    const round = await pending;
    expect(round.get(stuck)).toBeNull();
    expect(round.get(ok)).toBe(4);
  });

  it('with no serving worker, a round ends at once and empty', async () => {
    const { counts } = setup();
    const round = await counts.read();
    expect(round.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });
});
