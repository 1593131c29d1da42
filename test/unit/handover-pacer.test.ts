import { HandoverPacer, type PacerTimers } from '../../src/master/upgrade/handover-pacer';

/** Timers a test fires by hand: each pending callback with its delay. */
function manualTimers(): PacerTimers & { fire(): void; pending: number } {
  const callbacks = new Map<number, () => void>();
  let next = 0;
  return {
    setTimeout: (callback) => {
      callbacks.set(++next, callback);
      return next;
    },
    clearTimeout: (timer) => callbacks.delete(timer as number),
    fire() {
      const due = [...callbacks.values()];
      callbacks.clear();
      for (const callback of due) callback();
    },
    get pending() {
      return callbacks.size;
    },
  };
}

/** A pacer over `count` workers (pids 100, 101, ...), with what it told and its timers. */
function paced(count: number, atOnce: number) {
  const told: number[] = [];
  const timers = manualTimers();
  const workers = Array.from({ length: count }, (_, i) => ({ pid: 100 + i }));
  const pacer = new HandoverPacer(workers, (w) => told.push(w.pid), {
    atOnce,
    slotMs: 1000,
    timers,
  });
  return { told, timers, pacer };
}

describe('HandoverPacer: the old master tells its workers to re-attach a few at a time', () => {
  test('tells atOnce at first, then one more for each that has re-attached', () => {
    const { told, pacer } = paced(10, 3);
    pacer.start();
    expect(told).toEqual([100, 101, 102]);
    pacer.done([101]);
    expect(told).toEqual([100, 101, 102, 103]);
    pacer.done([100, 102]);
    expect(told).toEqual([100, 101, 102, 103, 104, 105]);
    expect(pacer.waiting).toBe(4);
  });

  test('a pid it is not waiting for frees no place (told twice, or not by this pacer)', () => {
    const { told, pacer } = paced(5, 2);
    pacer.start();
    pacer.done([100]);
    pacer.done([100, 999]);
    expect(told).toEqual([100, 101, 102]);
  });

  test('a worker that has not re-attached within slotMs frees its place (it goes on trying)', () => {
    const { told, timers, pacer } = paced(5, 2);
    pacer.start();
    timers.fire();
    expect(told).toEqual([100, 101, 102, 103]);
    // Its late re-attach then frees nothing more.
    pacer.done([100]);
    expect(told).toEqual([100, 101, 102, 103]);
  });

  test('stop() (the new master died) tells no one more, and leaves no timer', () => {
    const { told, timers, pacer } = paced(6, 2);
    pacer.start();
    pacer.stop();
    expect(timers.pending).toBe(0);
    pacer.done([100, 101]);
    timers.fire();
    expect(told).toEqual([100, 101]);
    expect(pacer.waiting).toBe(0);
  });

  test('rest() tells every worker not told yet, at once', () => {
    const { told, pacer } = paced(6, 2);
    pacer.start();
    pacer.rest();
    expect(told).toEqual([100, 101, 102, 103, 104, 105]);
    expect(pacer.waiting).toBe(0);
    pacer.done([100, 101]);
    expect(told).toHaveLength(6);
  });
});
