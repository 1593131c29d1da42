import type { ChildProcess } from 'node:child_process';
import {
  TransitionError,
  WorkerState,
  type ClientInfo,
  type Worker,
} from '../../src/master/pool/worker';
import {
  REPLACE_AFTER_MS,
  REPLACE_DEFERRALS,
  WorkerPool,
  type PoolEvents,
  type WorkerPoolOptions,
} from '../../src/master/pool/worker-pool';
import { FakeChild, FakeLogger } from './fakes';

/**
 * The pool with fake child processes and fake timers: no fork happens, and every
 * delay (ready timeout, wait timeout, back-off, shutdown grace) is stepped through.
 */

interface Harness {
  pool: WorkerPool;
  children: FakeChild[];
  log: FakeLogger;
  events: jest.Mocked<Required<PoolEvents>>;
  /** What the next spawn() does; by default, a new FakeChild. */
  spawnWith(next: () => FakeChild): void;
}

function harness(options: Partial<Omit<WorkerPoolOptions, 'logger'>> = {}): Harness {
  const children: FakeChild[] = [];
  const log = new FakeLogger();
  const events = {
    onReady: jest.fn(),
    onAssigned: jest.fn(),
    onClientMessage: jest.fn(),
    onClientGone: jest.fn(),
    onExit: jest.fn(),
  };
  let make = (): FakeChild => new FakeChild();
  const spawn = (): ChildProcess => {
    const child = make();
    children.push(child);
    return child.asChild;
  };
  const pool = new WorkerPool({
    spares: 2,
    maxStarting: 2,
    readyTimeoutMs: 1000,
    waitTimeoutMs: 500,
    spawn,
    ...options,
    logger: log.logger,
  });
  pool.attach(events);
  return { pool, children, log, events, spawnWith: (next) => (make = next) };
}

/** The longest a taken spare's replacement waits while its handshake stays in flight. */
const REPLACE_HELD_MS = REPLACE_AFTER_MS * (REPLACE_DEFERRALS + 1);

/** Runs what is due now (setImmediate included) and settles promises. */
async function flush(): Promise<void> {
  await jest.advanceTimersByTimeAsync(0);
}

async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

/** A promise's outcome so far, without waiting for it. */
function track<T>(promise: Promise<T>): { settled: boolean; value: T | undefined } {
  const state = { settled: false, value: undefined as T | undefined };
  void promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

function workerOf(pool: WorkerPool, child: FakeChild): Worker {
  const worker = pool.all.find((candidate) => candidate.process === child.asChild);
  if (worker === undefined) throw new Error(`no worker for pid ${child.pid}`);
  return worker;
}

function eagain(): NodeJS.ErrnoException {
  return Object.assign(new Error('spawn EAGAIN'), { code: 'EAGAIN' });
}

function client(id = 1): ClientInfo {
  return { id, remote: '127.0.0.1:50000', channel: '/', since: new Date() };
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
});

afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

describe('spares', () => {
  it('forks up to `spares`, at most `maxStarting` at once', async () => {
    const { pool, children } = harness({ spares: 3, maxStarting: 2 });
    pool.start();
    expect(children).toHaveLength(2);
    children[0].ready();
    expect(children).toHaveLength(3);
    children[1].ready();
    children[2].ready();
    await flush();
    expect(children).toHaveLength(3);
    expect(pool.spares).toHaveLength(3);
    expect(pool.inState(WorkerState.Starting)).toHaveLength(0);
  });

  it('reports a ready worker with its start-up time', async () => {
    const { pool, children, events } = harness({ spares: 1 });
    pool.start();
    await advance(250);
    children[0].ready();
    expect(events.onReady).toHaveBeenCalledTimes(1);
    expect(events.onReady).toHaveBeenCalledWith(workerOf(pool, children[0]), 0.25);
  });

  it('passes a worker message about its client to the events', () => {
    const { pool, children, events } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const quit = { type: 'quit', text: 'quit' };
    children[0].emit('message', quit);
    expect(events.onClientMessage).toHaveBeenCalledWith(workerOf(pool, children[0]), quit);
  });

  it('logs an idle worker that exits, and replaces it', () => {
    const { pool, children, log, events } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const worker = workerOf(pool, children[0]);
    children[0].exit(1, null);
    expect(worker.state).toBe(WorkerState.Exited);
    expect(log.at('warn')).toEqual([
      `Idle worker pid ${children[0].pid} exited (code 1, signal null)`,
    ]);
    expect(events.onClientGone).not.toHaveBeenCalled();
    expect(events.onExit).toHaveBeenCalledWith(worker);
    expect(children).toHaveLength(2);
  });
});

describe('acquire', () => {
  it('takes the last ready spare (reserved) and forks its replacement after this tick', async () => {
    const { pool, children } = harness({ spares: 1, maxStarting: 1 });
    pool.start();
    children[0].ready();
    const worker = await pool.acquire();
    expect(worker?.process).toBe(children[0].asChild);
    expect(worker?.state).toBe(WorkerState.Reserved);
    expect(pool.spares).toHaveLength(0);
    expect(children).toHaveLength(1);
    await flush();
    expect(children).toHaveLength(2);
    expect(workerOf(pool, children[1]).state).toBe(WorkerState.Starting);
  });

  it('with another spare ready, forks the replacement REPLACE_AFTER_MS later, not during a handshake', async () => {
    const { pool, children } = harness({ spares: 2, maxStarting: 2 });
    pool.start();
    await readyAll(pool, children);
    expect(children).toHaveLength(2);
    const worker = (await pool.acquire()) as Worker;
    await advance(REPLACE_AFTER_MS);
    expect(children).toHaveLength(2); // its handshake is in flight: not during it
    pool.assign(worker, client(1));
    await advance(REPLACE_AFTER_MS - 1);
    expect(children).toHaveLength(2);
    await advance(1);
    expect(children).toHaveLength(3);
    expect(workerOf(pool, children[2]).state).toBe(WorkerState.Starting);
    // A handshake that never ends (reserved) holds the next replacement back, not for good.
    await readyAll(pool, children);
    await pool.acquire();
    await advance(REPLACE_AFTER_MS * (REPLACE_DEFERRALS + 1) - 1);
    expect(children).toHaveLength(3);
    await advance(1);
    expect(children).toHaveLength(4);
  });

  it('with no spare, waits for the next worker to become ready', async () => {
    const { pool, children } = harness({ spares: 1, maxStarting: 2 });
    pool.start();
    const waiting = track(pool.acquire());
    // One for the spare already starting, one more for the waiting client.
    expect(children).toHaveLength(2);
    await flush();
    expect(waiting.settled).toBe(false);
    children[0].ready();
    await flush();
    expect(waiting.value?.process).toBe(children[0].asChild);
    expect(waiting.value?.state).toBe(WorkerState.Reserved);
    children[1].ready();
    expect(workerOf(pool, children[1]).state).toBe(WorkerState.Idle);
  });

  it('gives up after waitTimeoutMs; the worker that becomes ready later stays a spare', async () => {
    const { pool, children } = harness({
      spares: 0,
      maxStarting: 1,
      waitTimeoutMs: 500,
      readyTimeoutMs: 2000,
    });
    pool.start();
    expect(children).toHaveLength(0);
    const waiting = track(pool.acquire());
    expect(children).toHaveLength(1);
    await advance(499);
    expect(waiting.settled).toBe(false);
    await advance(1);
    expect(waiting.settled).toBe(true);
    expect(waiting.value).toBeUndefined();
    children[0].ready();
    expect(workerOf(pool, children[0]).state).toBe(WorkerState.Idle);
    expect(pool.spares).toHaveLength(1);
    expect(pool.unavailable()).toBeUndefined();
  });
});

/** Makes every worker still starting ready, until none is left starting (the refill). */
async function readyAll(pool: WorkerPool, children: FakeChild[]): Promise<void> {
  for (;;) {
    const starting = children.find((child) =>
      pool.all.some((w) => w.process === child.asChild && w.state === WorkerState.Starting),
    );
    if (starting === undefined) return;
    starting.ready();
    await flush();
  }
}

/** The children signalled to go, in order. */
const signalled = (children: FakeChild[]): FakeChild[] =>
  children.filter((child) => child.signals.includes('SIGTERM'));

/**
 * `--spare-workers 1:4` in the pool: a burst of four clients on one spare (three wait),
 * served and refilled to four idle workers.
 */
async function burstOnOneToFour(): Promise<Harness & { served: Worker[] }> {
  const h = harness({ spares: 1, maxSpares: 4, maxStarting: 2 });
  h.pool.start();
  expect(h.children).toHaveLength(1);
  h.children[0].ready();
  expect(h.pool.spareTarget).toBe(1);
  const clients = [0, 1, 2, 3].map(() => track(h.pool.acquire()));
  expect(h.pool.spareTarget).toBe(4);
  await readyAll(h.pool, h.children);
  const served = clients.map((c) => c.value as Worker);
  for (const [i, worker] of served.entries()) {
    expect(worker?.state).toBe(WorkerState.Reserved);
    h.pool.assign(worker, client(i + 1));
  }
  expect(h.pool.spares).toHaveLength(4);
  return { ...h, served };
}

describe('--spare-workers MIN:MAX', () => {
  it('a burst raises the idle target toward MAX, logged once, and the pool refills to it', async () => {
    const { pool, children, log } = await burstOnOneToFour();
    // One spare, three forks for the waiting clients, four to refill.
    expect(children).toHaveLength(8);
    expect(log.at('info')).toEqual([]);
    await advance(1000);
    expect(log.at('info')).toEqual([
      'Spare workers: target 1 → 4 (3 client(s) waited for a worker to start)',
    ]);
    expect(pool.spareTarget).toBe(4);
  });

  it('after 30 s without demand, one surplus idle worker a second exits, down to MIN', async () => {
    const { pool, children, log, events } = await burstOnOneToFour();
    await advance(30_000 - 1);
    expect(signalled(children)).toEqual([]);
    for (let step = 1; step <= 3; step++) {
      await advance(step === 1 ? 1 : 1000);
      const gone = signalled(children);
      expect(gone).toHaveLength(step);
      const retired = gone[step - 1];
      // An idle worker (no client) is asked to exit, and does.
      expect(workerOf(pool, retired).state).toBe(WorkerState.Exiting);
      expect(workerOf(pool, retired).client).toBeUndefined();
      retired.exit(null, 'SIGTERM');
      await flush();
      expect(pool.spareTarget).toBe(4 - step);
      expect(pool.spares).toHaveLength(4 - step);
    }
    // Retired workers are neither replaced nor reported as failures or lost clients.
    expect(children).toHaveLength(8);
    expect(log.at('warn')).toEqual([]);
    expect(log.at('error')).toEqual([]);
    expect(events.onClientGone).not.toHaveBeenCalled();
    expect(log.at('debug')).toHaveLength(2);
    expect(log.at('info').at(-1)).toMatch(
      /^Spare workers: target 2 → 1; retiring idle worker pid \d+ \(back to the minimum/,
    );
    // At MIN nothing is left to wake for.
    await advance(60_000);
    expect(signalled(children)).toHaveLength(3);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a client that waits during the hold renews it', async () => {
    const { pool, children } = await burstOnOneToFour();
    await advance(20_000);
    // Four clients take the four spares, a fifth waits.
    const more = [0, 1, 2, 3, 4].map(() => track(pool.acquire()));
    await readyAll(pool, children);
    expect(more.every((c) => c.value !== undefined)).toBe(true);
    await advance(30_000 - 1);
    expect(signalled(children)).toEqual([]);
    expect(pool.spareTarget).toBe(4);
    await advance(1);
    expect(signalled(children)).toHaveLength(1);
  });

  it('clients that each find spares to spare do not hold it: it falls', async () => {
    const { pool, children } = await burstOnOneToFour();
    for (let second = 1; second <= 34; second++) {
      await advance(1000);
      const taken = await pool.acquire(); // a spare is there, three or more stay ready
      pool.assign(taken as Worker, client(100 + second));
      await advance(REPLACE_AFTER_MS); // its replacement is forked then
      await readyAll(pool, children);
      for (const child of signalled(children)) if (child.connected) child.exit(null, 'SIGTERM');
    }
    expect(pool.spareTarget).toBe(1);
    expect(pool.spares.length).toBeLessThanOrEqual(2);
  });

  it('N alone never moves: waiting clients change no target, nothing is retired', async () => {
    const { pool, children, log } = harness({ spares: 2, maxStarting: 2 });
    pool.start();
    await readyAll(pool, children);
    const clients = [0, 1, 2, 3, 4].map(() => track(pool.acquire()));
    await readyAll(pool, children);
    expect(clients.every((c) => c.value !== undefined)).toBe(true);
    expect(pool.spareTarget).toBe(2);
    expect(pool.spares).toHaveLength(2);
    await advance(120_000);
    expect(signalled(children)).toEqual([]);
    expect(log.entries).toEqual([]);
  });

  it('shutdown stops the timers of the policy', async () => {
    const { pool, children } = await burstOnOneToFour();
    const done = track(pool.shutdown(1000));
    for (const child of children) if (child.connected) child.exit(null, 'SIGTERM');
    await flush();
    expect(done.settled).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('release, assign, terminate', () => {
  it('release makes a reserved worker a spare again', async () => {
    const { pool, children } = harness({ spares: 1, maxStarting: 1 });
    pool.start();
    children[0].ready();
    const worker = (await pool.acquire()) as Worker;
    pool.release(worker);
    expect(worker.state).toBe(WorkerState.Idle);
    expect(pool.spares).toEqual([worker]);
  });

  it('release hands the worker to a waiting client', async () => {
    const { pool, children } = harness({ spares: 1, maxStarting: 1 });
    pool.start();
    children[0].ready();
    const worker = (await pool.acquire()) as Worker;
    await advance(REPLACE_HELD_MS); // the replacement starts, which takes the only start-up slot
    expect(children).toHaveLength(2);
    const waiting = track(pool.acquire());
    await flush();
    expect(waiting.settled).toBe(false);
    pool.release(worker);
    await flush();
    expect(waiting.value).toBe(worker);
    expect(worker.state).toBe(WorkerState.Reserved);
  });

  it('release of a worker that is not reserved changes nothing', async () => {
    const { pool, children } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const worker = workerOf(pool, children[0]);
    pool.release(worker);
    expect(worker.state).toBe(WorkerState.Idle);
    const reserved = (await pool.acquire()) as Worker;
    pool.assign(reserved, client());
    pool.release(reserved);
    expect(reserved.state).toBe(WorkerState.Serving);
  });

  it('assign makes the worker serve the client', async () => {
    const { pool, children } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const worker = (await pool.acquire()) as Worker;
    const info = client(7);
    pool.assign(worker, info);
    expect(worker.state).toBe(WorkerState.Serving);
    expect(worker.client).toBe(info);
    expect(pool.serving).toEqual([worker]);
  });

  it('terminate moves the worker to exiting and sends SIGTERM', async () => {
    const { pool, children } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const worker = (await pool.acquire()) as Worker;
    pool.assign(worker, client());
    pool.terminate(worker);
    expect(worker.state).toBe(WorkerState.Exiting);
    expect(children[0].signals).toEqual(['SIGTERM']);
    pool.terminate(worker, 'SIGKILL');
    expect(worker.state).toBe(WorkerState.Exiting);
    expect(children[0].signals).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('terminate of an exited worker sends nothing', () => {
    const { pool, children } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const worker = workerOf(pool, children[0]);
    children[0].exit(0);
    pool.terminate(worker);
    expect(children[0].signals).toEqual([]);
    expect(worker.state).toBe(WorkerState.Exited);
  });

  it('the exit of a serving worker is reported once, with its code and signal', async () => {
    const { pool, children, events } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const worker = (await pool.acquire()) as Worker;
    pool.assign(worker, client());
    pool.terminate(worker);
    children[0].exit(null, 'SIGTERM');
    expect(events.onClientGone).toHaveBeenCalledTimes(1);
    expect(events.onClientGone).toHaveBeenCalledWith(worker, null, 'SIGTERM');
    expect(events.onExit).toHaveBeenCalledWith(worker);
    expect(worker.state).toBe(WorkerState.Exited);
    expect(pool.all).not.toContain(worker);
  });

  it('a serving worker that dies on its own is reported once too', async () => {
    const { pool, children, events, log } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const worker = (await pool.acquire()) as Worker;
    pool.assign(worker, client());
    children[0].exit(null, 'SIGSEGV');
    expect(events.onClientGone).toHaveBeenCalledTimes(1);
    expect(events.onClientGone).toHaveBeenCalledWith(worker, null, 'SIGSEGV');
    expect(log.at('error')).toEqual([]);
  });
  it('a reserved worker that dies is gone from the pool; its holder must not assign it', async () => {
    const { pool, children, events } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    const worker = (await pool.acquire()) as Worker;
    children[0].exit(null, 'SIGKILL');
    expect(worker.state).toBe(WorkerState.Exited);
    expect(pool.all).not.toContain(worker);
    expect(events.onClientGone).not.toHaveBeenCalled();
    // The state machine refuses it: a caller must check the state before assign().
    expect(() => pool.assign(worker, client())).toThrow(TransitionError);
    pool.release(worker);
    expect(worker.state).toBe(WorkerState.Exited);
  });
});

describe('failed starts', () => {
  it('an exit before ready is logged, backs off 100, 200, 400 ms, and is retried after each', async () => {
    const { pool, children, log } = harness({ spares: 1, maxStarting: 1 });
    pool.start();
    for (const [attempt, delay] of [100, 200, 400, 800].entries()) {
      expect(children).toHaveLength(attempt + 1);
      const child = children[attempt];
      child.exit(1, null);
      expect(log.at('error')[attempt]).toBe(
        `Worker pid ${child.pid} failed to start: exited before it was ready ` +
          `(code 1, signal null); next fork in ${delay} ms`,
      );
      // The process is gone already: nothing to kill.
      expect(child.signals).toEqual([]);
      expect(pool.unavailable()).toEqual({
        reason: 'Workers are failing to start, try again later',
        retryAfterS: Math.ceil(delay / 1000),
      });
      await advance(delay - 1);
      expect(children).toHaveLength(attempt + 1);
      await advance(1);
    }
    expect(children).toHaveLength(5);
    expect(log.at('error')).toHaveLength(4);
  });

  it('a worker that does not report ready in time is killed with SIGKILL, and counted once', async () => {
    const { pool, children, log } = harness({ spares: 1, maxStarting: 1, readyTimeoutMs: 300 });
    pool.start();
    const worker = workerOf(pool, children[0]);
    await advance(299);
    expect(children[0].signals).toEqual([]);
    await advance(1);
    expect(children[0].signals).toEqual(['SIGKILL']);
    expect(worker.state).toBe(WorkerState.Exiting);
    expect(log.at('error')).toEqual([
      `Worker pid ${children[0].pid} failed to start: did not report ready; next fork in 100 ms`,
    ]);
    children[0].exit(null, 'SIGKILL');
    expect(log.at('error')).toHaveLength(1);
    // A ready message after the deadline changes nothing.
    children[0].ready();
    expect(worker.state).toBe(WorkerState.Exited);
    await advance(100);
    expect(children).toHaveLength(2);
    // The next failure is the second one: 200 ms.
    children[1].exit(1, null);
    expect(log.at('error')[1]).toMatch(/next fork in 200 ms$/);
  });

  it('waiting clients get no worker at once when a start fails', async () => {
    const { pool, children } = harness({ spares: 0, maxStarting: 1, waitTimeoutMs: 5000 });
    pool.start();
    const first = track(pool.acquire());
    const second = track(pool.acquire());
    await flush();
    expect(first.settled || second.settled).toBe(false);
    children[0].exit(1, null);
    await flush();
    expect(first).toEqual({ settled: true, value: undefined });
    expect(second).toEqual({ settled: true, value: undefined });
    // And while backing off, a new client is told at once.
    const third = track(pool.acquire());
    await flush();
    expect(third).toEqual({ settled: true, value: undefined });
  });

  it('a ready worker ends the back-off and logs the recovery', async () => {
    const { pool, children, log } = harness({ spares: 1, maxStarting: 1 });
    pool.start();
    children[0].exit(1, null);
    await advance(100);
    children[1].exit(1, null);
    await advance(200);
    children[2].ready();
    expect(log.at('info')).toEqual(['Workers start again after 2 failure(s)']);
    expect(pool.unavailable()).toBeUndefined();
    const worker = (await pool.acquire()) as Worker;
    await advance(REPLACE_HELD_MS);
    children[3].exit(1, null);
    expect(log.at('error')[2]).toMatch(/next fork in 100 ms$/);
    // A spare in hand means a client can be served, back-off or not.
    pool.release(worker);
    expect(pool.unavailable()).toBeUndefined();
  });
});

describe('forks the kernel refuses', () => {
  it('a spawn that throws backs off, fails waiting clients, and logs one error per burst', async () => {
    const { pool, children, log, spawnWith } = harness({ spares: 1, maxStarting: 1 });
    spawnWith(() => {
      throw eagain();
    });
    pool.start();
    expect(log.at('error')).toEqual([
      'Cannot fork a worker: EAGAIN; next try in 100 ms (clients get 503 until it works)',
    ]);
    expect(pool.unavailable()).toEqual({
      reason: 'Workers are failing to start, try again later',
      retryAfterS: 1,
    });
    const refused = track(pool.acquire());
    await flush();
    expect(refused).toEqual({ settled: true, value: undefined });

    await advance(100);
    await advance(200);
    await advance(400);
    expect(log.at('error')).toHaveLength(1);
    expect(log.at('debug')).toEqual([
      'Cannot fork a worker: EAGAIN; next try in 200 ms',
      'Cannot fork a worker: EAGAIN; next try in 400 ms',
      'Cannot fork a worker: EAGAIN; next try in 800 ms',
    ]);
    expect(pool.all).toHaveLength(0);

    // The kernel allows forks again: the pool recovers, and a later refusal is a new burst.
    spawnWith(() => new FakeChild());
    await advance(800);
    expect(children).toHaveLength(1);
    children[0].ready();
    expect(log.at('info')).toEqual(['Workers start again after 4 failure(s)']);
    spawnWith(() => {
      throw eagain();
    });
    await pool.acquire();
    await advance(REPLACE_HELD_MS);
    expect(log.at('error')).toHaveLength(2);
    expect(log.at('error')[1]).toMatch(/^Cannot fork a worker: EAGAIN; next try in 100 ms/);
  });

  it("a spawn whose 'error' event comes with no pid counts as a refused fork", async () => {
    const { pool, children, log, spawnWith } = harness({
      spares: 2,
      maxStarting: 2,
      readyTimeoutMs: 300,
    });
    spawnWith(() => new FakeChild(null));
    pool.start();
    expect(children).toHaveLength(2);
    const waiting = track(pool.acquire());
    children[0].emit('error', eagain());
    children[1].emit('error', eagain());
    await flush();
    expect(waiting).toEqual({ settled: true, value: undefined });
    expect(pool.all).toHaveLength(0);
    expect(log.at('error')).toEqual([
      'Cannot fork a worker: EAGAIN; next try in 100 ms (clients get 503 until it works)',
    ]);
    expect(log.at('debug')).toEqual(['Cannot fork a worker: EAGAIN; next try in 200 ms']);
    // Their ready timers were cleared: no "failed to start" line later.
    spawnWith(() => {
      throw eagain();
    });
    await advance(300);
    expect(log.at('error').filter((line) => line.includes('failed to start'))).toEqual([]);
  });

  it("an 'error' event of a running worker is logged with its pid", () => {
    const { pool, children, log } = harness({ spares: 1 });
    pool.start();
    children[0].ready();
    children[0].emit('error', new Error('channel closed'));
    expect(log.entries.filter((entry) => entry.level === 'error')).toEqual([
      { level: 'error', message: 'worker error: channel closed', meta: { pid: children[0].pid } },
    ]);
    expect(workerOf(pool, children[0]).state).toBe(WorkerState.Idle);
  });
});

describe('shutdown', () => {
  it('asks serving workers to close, stops spares, kills the rest after graceMs', async () => {
    const { pool, children, log, events } = harness({ spares: 1, maxStarting: 2 });
    pool.start();
    children[0].ready();
    const serving = (await pool.acquire()) as Worker;
    pool.assign(serving, client(3));
    await advance(REPLACE_AFTER_MS);
    children[1].ready(); // an idle spare
    const waiting = track(pool.acquire()); // takes the spare: a reserved worker
    await advance(REPLACE_HELD_MS);
    const reserved = waiting.value as Worker;
    expect(reserved.process).toBe(children[1].asChild);
    expect(children).toHaveLength(3); // children[2] is starting
    const starting = workerOf(pool, children[2]);

    const done = track(pool.shutdown(1000));
    await flush();
    expect(children[0].sent).toEqual([{ type: 'shutdown' }]);
    expect(children[0].signals).toEqual([]);
    expect(serving.state).toBe(WorkerState.Exiting);
    expect(children[1].signals).toEqual(['SIGTERM']);
    expect(reserved.state).toBe(WorkerState.Exiting);
    expect(children[2].signals).toEqual(['SIGTERM']);
    expect(starting.state).toBe(WorkerState.Exiting);
    expect(pool.unavailable()).toEqual({ reason: 'Server shutting down', retryAfterS: 5 });
    expect(await pool.acquire()).toBeUndefined();

    children[1].exit(null, 'SIGTERM');
    await advance(999);
    expect(done.settled).toBe(false);
    expect(children[0].signals).toEqual([]);
    await advance(1);
    expect(children[0].signals).toEqual(['SIGKILL']);
    expect(children[2].signals).toEqual(['SIGTERM', 'SIGKILL']);
    expect(children[1].signals).toEqual(['SIGTERM']);
    expect(log.at('warn')).toEqual([
      `Worker pid ${children[0].pid} did not exit in time; sending SIGKILL`,
      `Worker pid ${children[2].pid} did not exit in time; sending SIGKILL`,
    ]);
    expect(log.entries.find((entry) => entry.message.includes(`${children[0].pid}`))?.meta).toEqual(
      { client: 3, pid: children[0].pid },
    );

    children[0].exit(null, 'SIGKILL');
    await flush();
    expect(done.settled).toBe(false);
    children[2].exit(null, 'SIGKILL');
    await flush();
    expect(done.settled).toBe(true);
    expect(events.onClientGone).toHaveBeenCalledTimes(1);
    expect(events.onClientGone).toHaveBeenCalledWith(serving, null, 'SIGKILL');
    // No replacement is forked while stopping, and a start that was cut short is no failure.
    expect(children).toHaveLength(3);
    expect(log.at('error')).toEqual([]);
    expect(pool.all).toEqual([]);
  });

  it('fails waiting clients at once and resolves at once with no workers', async () => {
    const { pool } = harness({ spares: 0, maxStarting: 0 });
    pool.start();
    const waiting = track(pool.acquire());
    await pool.shutdown(1000);
    await flush();
    expect(waiting).toEqual({ settled: true, value: undefined });
  });

  it('resolves once every worker has exited, before the grace period ends', async () => {
    const { pool, children, log } = harness({ spares: 2, maxStarting: 2 });
    pool.start();
    children[0].ready();
    children[1].ready();
    const done = track(pool.shutdown(5000));
    children[0].exit(0);
    await flush();
    expect(done.settled).toBe(false);
    children[1].exit(0);
    await flush();
    expect(done.settled).toBe(true);
    expect(log.entries).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });
});
