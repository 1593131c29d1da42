import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { FrameTally } from '../../src/master/observability/frame-tally';
import { Metrics } from '../../src/master/observability/metrics';
import { MetricsEvents } from '../../src/master/observability/metrics-events';
import { Worker, WorkerState } from '../../src/master/pool/worker';
import type { ClientMessage, PoolEvents } from '../../src/master/pool/worker-pool';
import { sample } from '../helpers/metrics';

/** A Worker over a stand-in process (its pid, IPC state and events), serving client `id`. */
function servingWorker(id: number, since: Date, connected = false): Worker {
  const child = Object.assign(new EventEmitter(), { pid: 1000 + id, connected });
  const worker = new Worker(child as unknown as ChildProcess);
  worker.moveTo(WorkerState.Idle);
  worker.moveTo(WorkerState.Reserved);
  worker.moveTo(WorkerState.Serving, { id, remote: '127.0.0.1:1', channel: '/', since });
  return worker;
}

describe('FrameTally', () => {
  test('turns per-worker running totals into increments; a worker gone stays counted', () => {
    let total = 0;
    const tally = new FrameTally<string>((count) => (total += count));
    tally.update('a', 5);
    tally.update('b', 2);
    tally.update('a', 7);
    expect(total).toBe(9);
    tally.update('a', 6); // an older report arriving late changes nothing
    tally.update('a', Number.NaN);
    expect(total).toBe(9);
    tally.forget('a');
    expect(total).toBe(9);
    expect(tally.size).toBe(1);
    tally.update('b', 10);
    expect(total).toBe(17);
  });
});

describe('MetricsEvents', () => {
  const inner = (): PoolEvents & { messages: ClientMessage[]; gone: number } => {
    const seen = {
      messages: [] as ClientMessage[],
      gone: 0,
      onClientMessage: (_worker: Worker, message: ClientMessage) => seen.messages.push(message),
      onClientGone: () => void seen.gone++,
    };
    return seen;
  };

  test('counts start-ups, first pushes, frames and goodbyes, and passes every event on', async () => {
    const metrics = new Metrics({ workerPids: () => [], defaultMetrics: false });
    const tally = new FrameTally<Worker>((count) => metrics.framesSent(count));
    const master = inner();
    let now = 10_000;
    const events = new MetricsEvents(master, metrics, tally, () => now);
    const first = servingWorker(1, new Date(10_000));
    const second = servingWorker(2, new Date(10_000));

    events.onReady(first, 0.12);
    now = 10_008;
    events.onClientMessage(first, { type: 'first-push' });
    events.onClientMessage(first, { type: 'report', pushed: 3, frames: 3 });
    events.onClientMessage(second, { type: 'report', pushed: 4, frames: 4 });
    events.onClientMessage(first, { type: 'closed', code: 1000, side: 'client', frames: 5 });
    events.onClientGone(first, 0, null);
    events.onExit(first);
    // Killed without a goodbye: the connection dropped, on the server's side.
    events.onClientGone(second, null, 'SIGKILL');
    events.onExit(second);

    const { body } = await metrics.render();
    expect(sample(body, 'push_websocket_worker_start_seconds_count')).toBe(1);
    expect(sample(body, 'push_websocket_first_push_seconds_count')).toBe(1);
    expect(sample(body, 'push_websocket_first_push_seconds_sum')).toBeCloseTo(0.008);
    expect(sample(body, 'push_websocket_frames_sent_total')).toBe(9);
    expect(sample(body, 'push_websocket_disconnects_total{code="1000",side="client"}')).toBe(1);
    expect(sample(body, 'push_websocket_disconnects_total{code="1006",side="server"}')).toBe(1);
    expect(tally.size).toBe(0);
    expect(master.messages.map((m) => m.type)).toEqual([
      'first-push',
      'report',
      'report',
      'closed',
    ]);
    expect(master.gone).toBe(2);
  });

  test('a first push told in a report or a goodbye is timed once, from its own time', async () => {
    const metrics = new Metrics({ workerPids: () => [], defaultMetrics: false });
    const events = new MetricsEvents(
      inner(),
      metrics,
      new FrameTally(() => undefined),
      () => 99_999,
    );
    const reported = servingWorker(5, new Date(20_000));
    const ended = servingWorker(6, new Date(20_000));
    const silent = servingWorker(7, new Date(20_000));
    // Told in a report round long after the push: the push's own time counts.
    events.onClientMessage(reported, { type: 'report', pushed: 1, frames: 1, firstPushAt: 20_004 });
    events.onClientMessage(reported, { type: 'report', pushed: 2, frames: 2, firstPushAt: 20_004 });
    events.onClientMessage(reported, { type: 'first-push' });
    events.onClientMessage(ended, {
      type: 'closed',
      code: 1000,
      side: 'client',
      frames: 1,
      firstPushAt: 20_010,
    });
    events.onClientMessage(silent, { type: 'report', pushed: 0, frames: 0 });
    const { body } = await metrics.render();
    expect(sample(body, 'push_websocket_first_push_seconds_count')).toBe(2);
    expect(sample(body, 'push_websocket_first_push_seconds_sum')).toBeCloseTo(0.014);
  });

  test('a close without a code frame said by the client is 1006 on its side', async () => {
    const metrics = new Metrics({ workerPids: () => [], defaultMetrics: false });
    const events = new MetricsEvents(inner(), metrics, new FrameTally(() => undefined));
    const worker = servingWorker(3, new Date());
    events.onClientMessage(worker, { type: 'closed', code: undefined, side: 'client', frames: 0 });
    events.onClientGone(worker, 0, null);
    const { body } = await metrics.render();
    expect(sample(body, 'push_websocket_disconnects_total{code="1006",side="client"}')).toBe(1);
  });

  test("a goodbye read after the worker's exit event still counts (the channel's close decides)", async () => {
    const metrics = new Metrics({ workerPids: () => [], defaultMetrics: false });
    const tally = new FrameTally<Worker>((count) => metrics.framesSent(count));
    const events = new MetricsEvents(inner(), metrics, tally);
    const worker = servingWorker(4, new Date(), true);
    events.onClientGone(worker, 0, null);
    events.onExit(worker);
    events.onClientMessage(worker, { type: 'closed', code: 1001, side: 'server', frames: 2 });
    (worker.process as unknown as { connected: boolean }).connected = false;
    worker.process.emit('disconnect');
    const { body } = await metrics.render();
    expect(sample(body, 'push_websocket_disconnects_total{code="1001",side="server"}')).toBe(1);
    expect(
      sample(body, 'push_websocket_disconnects_total{code="1006",side="server"}'),
    ).toBeUndefined();
    expect(sample(body, 'push_websocket_frames_sent_total')).toBe(2);
    expect(tally.size).toBe(0);
  });
});
