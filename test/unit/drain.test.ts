import { closeOffsetMs, Drain } from '../../src/master/drain/drain';
import { reconnectHintMs, restartClose } from '../../src/master/drain/restart-close';
import type { Worker } from '../../src/master/pool/worker';
import { FakeLogger } from './fakes';

describe('the drain schedule', () => {
  test('spreads the closes evenly over the window, the first at once', () => {
    expect([0, 1, 2, 3].map((i) => closeOffsetMs(i, 4, 2000))).toEqual([0, 500, 1000, 1500]);
    expect(closeOffsetMs(0, 0, 2000)).toBe(0);
  });

  test('the close is 1012 with a reconnect hint between 0.1 and 1 s', () => {
    expect(reconnectHintMs(() => 0)).toBe(100);
    expect(reconnectHintMs(() => 0.999)).toBe(999);
    expect(restartClose(250)).toEqual({
      code: 1012,
      reason: 'service restart; reconnect in 250 ms',
    });
  });
});

describe('Drain', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  function drainOf(count: number, windowMs: number) {
    const serving = new Set<Worker>(
      Array.from({ length: count }, (_, index) => ({ pid: 100 + index }) as unknown as Worker),
    );
    const closed: [number, number, string][] = [];
    let drained = 0;
    const log = new FakeLogger();
    const drain = new Drain({
      windowMs,
      pool: {
        get serving() {
          return [...serving];
        },
        closeClient(worker, close) {
          if (!serving.has(worker)) return false;
          serving.delete(worker);
          closed.push([Date.now(), close.code, close.reason]);
          return true;
        },
      },
      clientsLeft: () => serving.size,
      logger: log.logger,
      onDrained: () => (drained += 1),
      random: () => 0.5,
    });
    return { drain, closed, drained: () => drained, serving, log };
  }

  test('closes N clients evenly over the window with 1012, then is drained once', () => {
    const { drain, closed, drained, log } = drainOf(10, 1000);
    expect(drain.unavailable()).toBeUndefined();
    expect(drain.start('test')).toBe(true);
    expect(drain.start('again')).toBe(false);
    expect(drain.unavailable()).toEqual({
      reason: 'Draining: connect to another instance',
      retryAfterS: 1,
    });
    jest.advanceTimersByTime(2000);
    expect(closed.map(([at]) => at)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(new Set(closed.map(([, code, reason]) => `${code} ${reason}`))).toEqual(
      new Set(['1012 service restart; reconnect in 550 ms']),
    );
    expect(drained()).toBe(1);
    expect(log.at('info')).toEqual([
      'Draining (test): /healthz and new handshakes answer 503; closing 10 client(s) with 1012 over 1 s',
      'Drained: every client gone after 900 ms',
    ]);
  });

  test('with no client, drained at once', () => {
    const { drain, drained } = drainOf(0, 30000);
    drain.start('test');
    expect(drained()).toBe(1);
  });
});
