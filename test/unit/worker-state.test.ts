import { MAX_IN_FLIGHT, TransitionError, Worker, WorkerState } from '../../src/master/pool/worker';
import { FakeChild } from './fakes';

const { Starting, Idle, Reserved, Serving, Exiting, Exited } = WorkerState;
const ALL_STATES = [Starting, Idle, Reserved, Serving, Exiting, Exited];

/**
 * The moves the diagram in worker.ts allows, written out again here (not imported):
 * ready, reserve, release, assign, the master's "go" (exiting), and the process
 * ending (exited) from anywhere but exited itself.
 */
const ALLOWED: [WorkerState, WorkerState][] = [
  [Starting, Idle], // ready
  [Starting, Exiting], // failed start, shutdown
  [Starting, Exited],
  [Idle, Reserved], // reserve
  [Idle, Exiting],
  [Idle, Exited],
  [Reserved, Idle], // release
  [Reserved, Serving], // assign
  [Reserved, Exiting], // shutdown during a handshake
  [Reserved, Exited],
  [Serving, Exiting],
  [Serving, Exited],
  [Exiting, Exited],
];

const isAllowed = (from: WorkerState, to: WorkerState): boolean =>
  ALLOWED.some(([a, b]) => a === from && b === to);

const DISALLOWED: [WorkerState, WorkerState][] = ALL_STATES.flatMap((from) =>
  ALL_STATES.filter((to) => !isAllowed(from, to)).map((to): [WorkerState, WorkerState] => [
    from,
    to,
  ]),
);

/** Allowed moves that lead from starting to each state. */
const PATH_TO: Record<WorkerState, WorkerState[]> = {
  [Starting]: [],
  [Idle]: [Idle],
  [Reserved]: [Idle, Reserved],
  [Serving]: [Idle, Reserved, Serving],
  [Exiting]: [Exiting],
  [Exited]: [Exited],
};

const CLIENT = { id: 9, remote: '127.0.0.1:40000', channel: '/', since: new Date(0) };

function workerIn(state: WorkerState, child = new FakeChild()): Worker {
  const worker = new Worker(child.asChild);
  for (const next of PATH_TO[state]) worker.moveTo(next, CLIENT);
  expect(worker.state).toBe(state);
  return worker;
}

describe('WorkerState transitions', () => {
  it('the tables cover every pair of states', () => {
    expect(ALLOWED.length + DISALLOWED.length).toBe(ALL_STATES.length ** 2);
  });

  it('a new worker is starting, has no client and was never ready', () => {
    const worker = new Worker(new FakeChild(1234).asChild);
    expect(worker.state).toBe(Starting);
    expect(worker.client).toBeUndefined();
    expect(worker.wasReady).toBe(false);
    expect(worker.pid).toBe(1234);
  });

  it('a worker with no pid (a refused fork) reports pid -1', () => {
    expect(new Worker(new FakeChild(null).asChild).pid).toBe(-1);
  });

  it.each(ALLOWED)('%s -> %s is allowed', (from, to) => {
    const worker = workerIn(from);
    worker.moveTo(to, CLIENT);
    expect(worker.state).toBe(to);
  });

  it.each(DISALLOWED)('%s -> %s throws TransitionError and keeps the state', (from, to) => {
    const child = new FakeChild(4321);
    const worker = workerIn(from, child);
    expect(() => worker.moveTo(to, CLIENT)).toThrow(TransitionError);
    expect(() => worker.moveTo(to, CLIENT)).toThrow(`worker 4321: ${from} -> ${to} is not allowed`);
    expect(worker.state).toBe(from);
  });

  it('TransitionError is an Error', () => {
    expect(new TransitionError('x')).toBeInstanceOf(Error);
  });

  it('wasReady stays true once the worker has been idle', () => {
    const worker = workerIn(Serving);
    worker.moveTo(Exiting);
    worker.moveTo(Exited);
    expect(worker.wasReady).toBe(true);
    expect(workerIn(Exiting).wasReady).toBe(false);
  });

  it('assign records the client, which is kept after the worker exits', () => {
    const worker = workerIn(Reserved);
    expect(worker.client).toBeUndefined();
    worker.moveTo(Serving, CLIENT);
    worker.moveTo(Exited);
    expect(worker.client).toBe(CLIENT);
  });
});

describe('Worker IPC and signals', () => {
  it('send is refused once the channel is closed', () => {
    const child = new FakeChild();
    const worker = new Worker(child.asChild);
    expect(worker.send({ type: 'report' })).toBe(true);
    child.connected = false;
    expect(worker.send({ type: 'report' })).toBe(false);
    expect(worker.sendBounded({ type: 'report' })).toBe(false);
    expect(child.sent).toEqual([{ type: 'report' }]);
  });

  it('sendBounded stops at MAX_IN_FLIGHT until the channel takes messages', () => {
    const child = new FakeChild();
    child.autoAck = false;
    const worker = new Worker(child.asChild);
    for (let i = 0; i < MAX_IN_FLIGHT; i++) {
      expect(worker.sendBounded({ type: 'report' })).toBe(true);
    }
    expect(worker.sendBounded({ type: 'report' })).toBe(false);
    expect(child.sent).toHaveLength(MAX_IN_FLIGHT);
    child.ack(1);
    expect(worker.sendBounded({ type: 'report' })).toBe(true);
    expect(worker.sendBounded({ type: 'report' })).toBe(false);
    child.ack();
    expect(worker.sendBounded({ type: 'report' })).toBe(true);
    expect(child.sent).toHaveLength(MAX_IN_FLIGHT + 2);
  });

  it('a stand-in process without a publish pipe gets no publications', () => {
    expect(new Worker(new FakeChild().asChild).publish(Buffer.from([0x81, 0]))).toBe(false);
  });

  it('plain send is not bounded (control messages always go)', () => {
    const child = new FakeChild();
    child.autoAck = false;
    const worker = new Worker(child.asChild);
    for (let i = 0; i < MAX_IN_FLIGHT; i++) worker.sendBounded({ type: 'report' });
    expect(worker.send({ type: 'shutdown' })).toBe(true);
    expect(child.sent.at(-1)).toEqual({ type: 'shutdown' });
  });

  it('signal reaches the process, not after it exited, and a kill error is swallowed', () => {
    const child = new FakeChild();
    const worker = workerIn(Idle, child);
    worker.signal('SIGTERM');
    expect(child.signals).toEqual(['SIGTERM']);
    child.killError = Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    expect(() => worker.signal('SIGKILL')).not.toThrow();
    worker.moveTo(Exited);
    worker.signal('SIGKILL');
    expect(child.signals).toEqual(['SIGTERM', 'SIGKILL']);
  });
});
