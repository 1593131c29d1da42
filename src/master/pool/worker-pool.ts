import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { WorkerMessage } from '../../shared/ipc';
import type { Logger } from '../logger';
import { Backoff } from '../backoff';
import { Worker, WorkerState, type ClientInfo } from './worker';

/** The messages a worker sends about its client (the pool handles `ready` itself). */
export type ClientMessage = Exclude<WorkerMessage, { type: 'ready' }>;

/** What the pool reports; the composition root decides what each means. */
export interface PoolEvents {
  /** A worker forked `seconds` ago is ready. */
  onReady?(worker: Worker, seconds: number): void;
  /** A message from a worker about its client (quit, log, report, command). */
  onClientMessage(worker: Worker, message: ClientMessage): void;
  /** A worker that had a client has exited. */
  onClientGone(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void;
  /** Any worker has exited (after the pool's own bookkeeping). */
  onExit?(worker: Worker): void;
}

export interface WorkerPoolOptions {
  spares: number;
  logger: Logger;
  /** Starts one worker process (tests give a fake). */
  spawn(): ChildProcess;
  /** How long a fork may take to report ready before it counts as failed. */
  readyTimeoutMs?: number;
  /** How long a client may wait for a ready worker before it gets 503. */
  waitTimeoutMs?: number;
  /** Node start-ups at once (default: one per core). */
  maxStarting?: number;
  events: PoolEvents;
}

/** Why acquire() found no worker: the HTTP layer turns it into a 503 with Retry-After. */
export interface Unavailable {
  reason: string;
  retryAfterS: number;
}

/**
 * Forks and reaps workers. Keeps `spares` idle workers ready (like Apache's prefork
 * spares) so a client does not wait for a Node start-up; a worker serves one client
 * and is never reused. Workers that die before they are ready count as failures:
 * the pool backs off (exponentially, up to 30 s) instead of forking in a tight loop.
 * The pool alone changes a worker's state.
 */
export class WorkerPool {
  private readonly workers = new Set<Worker>();
  private readonly readyTimeoutMs: number;
  private readonly waitTimeoutMs: number;
  /** Node start-ups at once: one per core, so the master and serving workers keep a share. */
  private readonly maxStarting: number;
  /** Clients (handshakes) waiting for a worker, oldest first. */
  private waiters: ((worker: Worker | undefined) => void)[] = [];
  private readonly startTimers = new Map<Worker, NodeJS.Timeout>();
  private readonly failedStarts = new WeakSet<Worker>();
  private readonly backoff = new Backoff(100, 30_000);
  private pumpTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 5000;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 10000;
    this.maxStarting = options.maxStarting ?? Math.max(1, os.cpus().length);
  }

  start(): void {
    this.pump();
  }

  /** Workers in one state. */
  inState(state: WorkerState): Worker[] {
    return [...this.workers].filter((worker) => worker.state === state);
  }

  /** The first worker in `state` (in fork order), without copying the set: a handshake's path. */
  private firstIn(state: WorkerState): Worker | undefined {
    for (const worker of this.workers) if (worker.state === state) return worker;
    return undefined;
  }

  /** How many workers are in `state`, without copying the set. */
  private countIn(state: WorkerState): number {
    let count = 0;
    for (const worker of this.workers) if (worker.state === state) count++;
    return count;
  }

  /** Idle workers that are ready for a client. */
  get spares(): Worker[] {
    return this.inState(WorkerState.Idle);
  }

  /** Workers serving a client. */
  get serving(): Worker[] {
    return this.inState(WorkerState.Serving);
  }

  /** Every live worker (for /proc readings). */
  get all(): Worker[] {
    return [...this.workers];
  }

  /** Why a client would get no worker now, or undefined when one can be had. */
  unavailable(): Unavailable | undefined {
    if (this.firstIn(WorkerState.Idle) !== undefined) return undefined;
    if (this.stopping) return { reason: 'Server shutting down', retryAfterS: 5 };
    const wait = this.backoff.remainingMs();
    if (wait > 0) {
      return {
        reason: 'Workers are failing to start, try again later',
        retryAfterS: Math.ceil(wait / 1000),
      };
    }
    return undefined;
  }

  /**
   * A reserved worker for a new client, or undefined when none can be had in time: a
   * ready spare if there is one, otherwise the next worker to become ready (unless the
   * pool is backing off after failed starts). The caller must assign or release it.
   */
  acquire(): Promise<Worker | undefined> {
    const spare = this.firstIn(WorkerState.Idle);
    if (spare !== undefined) {
      spare.moveTo(WorkerState.Reserved);
      // After this tick: the hand-off comes first, and the replacement's synchronous
      // spawn (a few ms of the master's time) does not delay the client that took the spare.
      setImmediate(() => this.pump());
      return Promise.resolve(spare);
    }
    if (this.unavailable() !== undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (worker: Worker | undefined): void => {
        clearTimeout(timer);
        resolve(worker);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve(undefined);
      }, this.waitTimeoutMs);
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Gives back a reserved worker whose handshake did not complete: a spare again. */
  release(worker: Worker): void {
    if (worker.state !== WorkerState.Reserved) return;
    worker.moveTo(WorkerState.Idle);
    this.giveToWaiter(worker);
  }

  /** The reserved worker now serves this client. */
  assign(worker: Worker, client: ClientInfo): void {
    worker.moveTo(WorkerState.Serving, client);
  }

  /** Asks a worker to end (its client quit): SIGTERM, as the original's posix_kill. */
  terminate(worker: Worker, signal: NodeJS.Signals = 'SIGTERM'): void {
    if (worker.state === WorkerState.Exited) return;
    if (worker.state !== WorkerState.Exiting) worker.moveTo(WorkerState.Exiting);
    worker.signal(signal);
  }

  /**
   * Starts workers while fewer are idle (ready or starting) than the spares wanted plus
   * the clients waiting, at most `maxStarting` at a time, and not while backing off.
   */
  private pump(): void {
    if (this.stopping || this.pumpTimer !== undefined) return;
    const wait = this.backoff.remainingMs();
    if (wait > 0) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    const starting = this.countIn(WorkerState.Starting);
    const idle = starting + this.countIn(WorkerState.Idle);
    const wanted = this.options.spares + this.waiters.length - idle;
    for (let i = 0; i < Math.min(wanted, this.maxStarting - starting); i++) {
      if (!this.forkWorker()) return;
    }
  }

  private giveToWaiter(worker: Worker): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) return;
    worker.moveTo(WorkerState.Reserved);
    waiter(worker);
  }

  /** Forks one worker; false when the kernel refused (the pool is now backing off). */
  private forkWorker(): boolean {
    let child: ChildProcess;
    try {
      child = this.options.spawn();
    } catch (error) {
      this.forkRefused(error as NodeJS.ErrnoException);
      return false;
    }
    const worker = new Worker(child);
    this.workers.add(worker);
    this.startTimers.set(
      worker,
      setTimeout(() => this.failed(worker, 'did not report ready'), this.readyTimeoutMs),
    );
    child.on('message', (message: WorkerMessage) => this.onMessage(worker, message));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) {
        this.workers.delete(worker);
        clearTimeout(this.startTimers.get(worker));
        this.startTimers.delete(worker);
        this.forkRefused(error);
      } else {
        this.options.logger.error(`worker error: ${error.message}`, { pid: worker.pid });
      }
    });
    child.on('exit', (code, signal) => this.onExit(worker, code, signal));
    return true;
  }

  private onMessage(worker: Worker, message: WorkerMessage): void {
    if (message.type !== 'ready') {
      this.options.events.onClientMessage(worker, message);
      return;
    }
    if (worker.state !== WorkerState.Starting) return;
    clearTimeout(this.startTimers.get(worker));
    this.startTimers.delete(worker);
    this.recovered();
    worker.moveTo(WorkerState.Idle);
    this.options.events.onReady?.(worker, (Date.now() - worker.forkedAt) / 1000);
    this.giveToWaiter(worker);
    this.pump(); // a start-up slot is free
  }

  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const served = worker.state === WorkerState.Serving || worker.client !== undefined;
    const wasReady = worker.wasReady;
    this.workers.delete(worker);
    clearTimeout(this.startTimers.get(worker));
    this.startTimers.delete(worker);
    worker.moveTo(WorkerState.Exited);
    if (!wasReady) {
      this.failed(worker, `exited before it was ready (code ${code}, signal ${signal})`);
    } else if (served) {
      this.options.events.onClientGone(worker, code, signal);
    } else if (!this.stopping) {
      this.options.logger.warn(
        `Idle worker pid ${worker.pid} exited (code ${code}, signal ${signal})`,
      );
    }
    this.options.events.onExit?.(worker);
    this.pump();
  }

  /** A worker that never became ready: log it, stop it, back off before the next fork. */
  private failed(worker: Worker, why: string): void {
    if (this.stopping || this.failedStarts.has(worker)) return;
    this.failedStarts.add(worker);
    const delay = this.backoff.fail();
    this.options.logger.error(
      `Worker pid ${worker.pid} failed to start: ${why}; next fork in ${delay} ms`,
    );
    if (worker.state !== WorkerState.Exited) this.terminate(worker, 'SIGKILL');
    this.failWaiters();
  }

  /**
   * The kernel refused a fork (EAGAIN at RLIMIT_NPROC, ENOMEM): back off, and log once
   * per burst, not per client; the first fork that succeeds ends the burst.
   */
  private forkRefused(error: NodeJS.ErrnoException): void {
    const first = this.backoff.failures === 0;
    const delay = this.backoff.fail();
    const line = `Cannot fork a worker: ${error.code ?? error.message}; next try in ${delay} ms`;
    if (first) this.options.logger.error(`${line} (clients get 503 until it works)`);
    else this.options.logger.debug(line);
    this.failWaiters();
    setImmediate(() => this.pump());
  }

  private recovered(): void {
    if (this.backoff.failures > 0 && !this.stopping) {
      this.options.logger.info(`Workers start again after ${this.backoff.failures} failure(s)`);
    }
    this.backoff.reset();
  }

  /** No worker will be ready before the back-off ends: the waiting clients get 503 now. */
  private failWaiters(): void {
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  /**
   * Ends every worker: clients get close 1001 (IPC shutdown), spares just exit.
   * Workers still alive after `graceMs` are killed with SIGKILL, which is logged.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pumpTimer);
    this.failWaiters();
    const all = [...this.workers];
    const exits = all.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.state === WorkerState.Exited) resolve();
          else worker.process.once('exit', () => resolve());
        }),
    );
    for (const worker of all) {
      clearTimeout(this.startTimers.get(worker));
      if (worker.state === WorkerState.Serving) {
        worker.send({ type: 'shutdown' });
        worker.moveTo(WorkerState.Exiting);
      } else {
        this.terminate(worker);
      }
    }
    const timer = setTimeout(() => {
      for (const worker of this.workers) {
        this.options.logger.warn(`Worker pid ${worker.pid} did not exit in time; sending SIGKILL`, {
          client: worker.client?.id,
          pid: worker.pid,
        });
        worker.signal('SIGKILL');
      }
    }, graceMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }
}
