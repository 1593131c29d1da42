import { assertNever } from '../../shared/assert-never';
import type { FrameTally } from './frame-tally';
import type { Metrics } from './metrics';
import type { Worker } from '../pool/worker';
import type { ClientMessage, PoolEvents } from '../pool/worker-pool';
import { afterLastMessage } from '../pool/last-words';

/** What a worker said about its client's connection as it ended (IPC `closed`). */
interface Goodbye {
  code: number | undefined;
  side: 'client' | 'server';
}

/**
 * The pool's events, counted for GET /metrics on their way to the master's own handler
 * (`inner`, which decides what each means). Start-up and first-push times, frame counts
 * from report rounds and goodbyes, and how each connection ended: as its worker said
 * just before it exited, or 1006 on the server's side when it died without a word.
 *
 * A child's `exit` event can come before the last messages it wrote (its goodbye) have
 * been read from the IPC channel: a client's end is counted once the channel has closed,
 * when every message has been seen.
 */
export class MetricsEvents implements PoolEvents {
  private readonly goodbyes = new WeakMap<Worker, Goodbye>();
  /** Workers whose client's end onClientGone counts (and whose frames it forgets). */
  private readonly counted = new WeakSet<Worker>();
  /** Workers whose client's first push has been timed. */
  private readonly timed = new WeakSet<Worker>();

  constructor(
    private readonly inner: PoolEvents,
    private readonly metrics: Metrics,
    private readonly frames: FrameTally<Worker>,
    private readonly now: () => number = Date.now,
  ) {}

  onAssigned(worker: Worker): void {
    this.inner.onAssigned?.(worker);
  }

  onReady(worker: Worker, seconds: number): void {
    this.metrics.workerStarted(seconds);
    this.inner.onReady?.(worker, seconds);
  }

  onClientMessage(worker: Worker, message: ClientMessage): void {
    switch (message.type) {
      case 'report':
        this.frames.update(worker, message.frames);
        this.firstPush(worker, message.firstPushAt);
        break;
      case 'first-push':
        // A worker of an earlier build (adopted): it says so right after the frame.
        this.firstPush(worker, this.now());
        break;
      case 'closed':
        this.frames.update(worker, message.frames);
        this.firstPush(worker, message.firstPushAt);
        this.goodbyes.set(worker, { code: message.code, side: message.side });
        break;
      case 'limit':
        this.metrics.limitKill(message.limit);
        break;
      case 'quit':
      case 'log':
      case 'command':
        break; // nothing to count: ClientEvents acts on them
      default:
        assertNever(message, 'client message');
    }
    this.inner.onClientMessage(worker, message);
  }

  /**
   * Times a client's first push (connect → first frame; the client was admitted right
   * after its 101 was flushed). Workers tell it in their next report round or as they
   * end (ipc.ts, FirstPushTime), so the histogram fills at scrapes, once per client.
   */
  private firstPush(worker: Worker, at: number | undefined): void {
    if (at === undefined || worker.client === undefined || this.timed.has(worker)) return;
    this.timed.add(worker);
    this.metrics.firstPush(Math.max(0, at - worker.client.since.getTime()) / 1000);
  }

  onClientGone(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.counted.add(worker);
    afterLastMessage(worker, () => {
      const goodbye = this.goodbyes.get(worker) ?? { code: undefined, side: 'server' };
      this.metrics.disconnect(goodbye.code, goodbye.side);
      this.frames.forget(worker);
    });
    this.inner.onClientGone(worker, code, signal);
  }

  onExit(worker: Worker): void {
    // A worker that served a client is forgotten by onClientGone's wait (it comes first).
    if (!this.counted.has(worker)) afterLastMessage(worker, () => this.frames.forget(worker));
    this.inner.onExit?.(worker);
  }
}
