import type { Logger } from '../observability/logger';
import type { Unavailable, WorkerPool } from '../pool/worker-pool';
import type { Worker } from '../pool/worker';
import { reconnectHintMs, restartClose } from './restart-close';

/** The longest step between two looks at the schedule (and at whether every client left). */
const MAX_TICK_MS = 100;
/** How long a drained client's worker may take to close and exit before SIGKILL. */
const CLOSE_GRACE_MS = 5000;

/**
 * Closes one serving worker's client for a restart: 1012 with a jittered reconnect hint
 * (`restartClose`). For a drain, and for the hot upgrade's workers too old to be
 * adopted. False when the worker serves no client.
 */
export function drainWorker(
  pool: Pick<WorkerPool, 'closeClient'>,
  worker: Worker,
  random: () => number = Math.random,
): boolean {
  return pool.closeClient(worker, {
    ...restartClose(reconnectHintMs(random)),
    graceMs: CLOSE_GRACE_MS,
  });
}

/**
 * When the client number `index` of `count` is closed, in ms from the drain's start:
 * evenly over the window, the first at once. Pure.
 */
export function closeOffsetMs(index: number, count: number, windowMs: number): number {
  return count <= 0 ? 0 : (index * windowMs) / count;
}

export interface DrainOptions {
  /** --drain-seconds, in ms. */
  windowMs: number;
  pool: Pick<WorkerPool, 'serving' | 'closeClient'>;
  /** Clients this instance still holds (the directory's count). */
  clientsLeft: () => number;
  logger: Logger;
  /** Every client is gone: the master may exit. */
  onDrained: () => void;
  random?: () => number;
}

/**
 * A graceful drain (SIGQUIT, POST /drain): from its start, /healthz and new handshakes
 * answer 503 (a balancer sends new clients elsewhere) and the clients are closed with
 * 1012 and a reconnect hint, evenly over --drain-seconds so that they do not all come
 * back at once; clients still there at the end of the window (handshakes that were in
 * flight) are closed then. Once no client is left, `onDrained`.
 */
export class Drain {
  private startedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Worker[] = [];
  private next = 0;
  private done = false;

  constructor(private options: DrainOptions) {}

  /** --drain-seconds changed while running (SIGHUP): for a drain that starts later. */
  setWindow(windowMs: number): void {
    if (this.startedAt === undefined) this.options = { ...this.options, windowMs };
  }

  get draining(): boolean {
    return this.startedAt !== undefined;
  }

  /** Why no new client is taken: while draining, the /healthz answer. */
  unavailable(): Unavailable | undefined {
    if (this.startedAt === undefined) return undefined;
    const leftMs = this.startedAt + this.options.windowMs - Date.now();
    return {
      reason: 'Draining: connect to another instance',
      retryAfterS: Math.max(1, Math.ceil(leftMs / 1000)),
    };
  }

  /** Starts the drain (`why` names who asked, for the log); false if it already runs. */
  start(why: string): boolean {
    if (this.startedAt !== undefined) return false;
    this.startedAt = Date.now();
    this.queue = this.options.pool.serving;
    const { windowMs } = this.options;
    this.options.logger.info(
      `Draining (${why}): /healthz and new handshakes answer 503; closing ` +
        `${this.queue.length} client(s) with 1012 over ${windowMs / 1000} s`,
    );
    const spacing = this.queue.length > 0 ? windowMs / this.queue.length : MAX_TICK_MS;
    const tickMs = Math.max(10, Math.min(MAX_TICK_MS, spacing));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.tick();
    return true;
  }

  /** Stops the schedule (the master is stopping some other way). */
  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const { pool, windowMs } = this.options;
    const random = this.options.random ?? Math.random;
    const elapsed = Date.now() - (this.startedAt ?? 0);
    const count = this.queue.length;
    while (this.next < count && closeOffsetMs(this.next, count, windowMs) <= elapsed) {
      drainWorker(pool, this.queue[this.next++], random);
    }
    // Past the schedule: whoever is still served (a handshake in flight at the start).
    if (this.next >= count && elapsed >= windowMs) {
      for (const worker of pool.serving) drainWorker(pool, worker, random);
    }
    if (this.options.clientsLeft() === 0 && !this.done) {
      this.done = true;
      this.stop();
      this.options.logger.info(`Drained: every client gone after ${elapsed} ms`);
      this.options.onDrained();
    }
  }
}
