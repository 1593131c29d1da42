import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { WorkerMessage } from '../../shared/ipc';
import { APP_CLOSE_REASON, AppCloseCode } from '../../shared/protocol/close-codes';
import type { Logger } from '../observability/logger';
import { Backoff } from '../../shared/exponential-backoff';
import { SparePolicy } from './spare-policy';
import { Worker, WorkerState, type ClientInfo } from './worker';

/** How long a disconnected client's worker may take to close and exit before SIGKILL. */
const DISCONNECT_GRACE_MS = 5000;

/** The messages a worker sends about its client (the pool handles `ready` itself). */
export type ClientMessage = Exclude<WorkerMessage, { type: 'ready' }>;

/** What the pool reports; the composition root decides what each means. */
export interface PoolEvents {
  /** A worker forked `seconds` ago is ready. */
  onReady?(worker: Worker, seconds: number): void;
  /** A reserved worker now serves its client (worker.client is set): the client connected. */
  onAssigned?(worker: Worker): void;
  /** A message from a worker about its client (quit, log, report, command). */
  onClientMessage(worker: Worker, message: ClientMessage): void;
  /** A worker that had a client has exited. */
  onClientGone(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void;
  /** Any worker has exited (after the pool's own bookkeeping). */
  onExit?(worker: Worker): void;
}

export interface WorkerPoolOptions {
  /** Idle workers kept ready (`--spare-workers N`, or MIN of `MIN:MAX`). */
  spares: number;
  /** MAX of `--spare-workers MIN:MAX`: the idle target may grow to it (default: `spares`). */
  maxSpares?: number;
  logger: Logger;
  /** Starts one worker process (tests give a fake). */
  spawn(): ChildProcess;
  /** How long a fork may take to report ready before it counts as failed. */
  readyTimeoutMs?: number;
  /** How long a client may wait for a ready worker before it gets 503. */
  waitTimeoutMs?: number;
  /** Node start-ups at once (default: one per core). */
  maxStarting?: number;
}

/** Why acquire() found no worker: the HTTP layer turns it into a 503 with Retry-After. */
export interface Unavailable {
  reason: string;
  retryAfterS: number;
}

/** How long after a spare is taken its replacement is forked (replaceLater). */
export const REPLACE_AFTER_MS = 50;
/** How many times a replacement waits again for a handshake in flight. */
export const REPLACE_DEFERRALS = 3;

/**
 * Forks and reaps workers. Keeps idle workers ready (like Apache's prefork spares) so
 * a client does not wait for a Node start-up: `spares` of them, or with `maxSpares`
 * as many as its SparePolicy's target, which follows demand (spare-policy.ts); a
 * worker serves one client and is never reused. Workers that die before they are
 * ready count as failures: the pool backs off (exponentially, up to 30 s) instead of
 * forking in a tight loop. The pool alone changes a worker's state.
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
  /** A taken spare's replacement, due (replaceLater). */
  private replaceTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** A hot upgrade is handing this master's clients over: no spare is forked. */
  private frozen = false;
  private policy: SparePolicy;
  /** No spares for now (holdSpares): only the clients waiting get workers. */
  private sparesHeld = false;
  /** The idle target as last logged (an adaptive policy's changes are logged). */
  private shownTarget: number;
  /** Logs a rise once a second at most: a burst raises the target many times. */
  private riseTimer: NodeJS.Timeout | undefined;
  /** Clients that found no ready spare since the rise timer was armed. */
  private missed = 0;
  /** Wakes when the target may fall, or a surplus idle worker may be retired. */
  private trimTimer: NodeJS.Timeout | undefined;
  /** Who hears about workers and clients: set once by attach(), before start(). */
  private attached: PoolEvents | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 5000;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 10000;
    this.maxStarting = options.maxStarting ?? Math.max(1, os.cpus().length);
    this.policy = new SparePolicy({
      min: options.spares,
      max: options.maxSpares ?? options.spares,
    });
    this.shownTarget = this.policy.min;
  }

  /**
   * Gives the pool its listener, once. Separate from the constructor because the
   * listener's parts (push counts, metrics, the quit handler) need the pool itself.
   */
  attach(events: PoolEvents): void {
    if (this.attached !== undefined) throw new Error('WorkerPool: events attached twice');
    this.attached = events;
  }

  /** Starts forking spares; attach() first. */
  start(): void {
    // Fails here, not at the first worker's message.
    if (this.attached === undefined) throw new Error('WorkerPool: attach(events) before start()');
    this.pump();
  }

  /** The attached listener; a pool that forks before attach() is a wiring mistake. */
  private get events(): PoolEvents {
    if (this.attached === undefined) throw new Error('WorkerPool: no events attached');
    return this.attached;
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
  countIn(state: WorkerState): number {
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

  /** The idle workers (ready or starting) the pool wants now. */
  get spareTarget(): number {
    return this.policy.target(Date.now());
  }

  /**
   * --spare-workers changed while running (SIGHUP): the new policy starts at its MIN;
   * more spares are forked at once, surplus idle ones retired one a step.
   */
  setSpares(min: number, max: number): void {
    this.policy = new SparePolicy({ min, max });
    this.shownTarget = min;
    clearTimeout(this.trimTimer);
    this.trimTimer = undefined;
    this.pump();
    this.scheduleTrim(Date.now(), true);
  }

  /** Why a client would get no worker now, or undefined when one can be had. */
  unavailable(): Unavailable | undefined {
    if (this.stopping) return { reason: 'Server shutting down', retryAfterS: 5 };
    if (this.frozen) return { reason: 'Server upgrading', retryAfterS: 1 };
    if (this.firstIn(WorkerState.Idle) !== undefined) return undefined;
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
      if (this.policy.adaptive) {
        const now = Date.now();
        this.policy.taken(now, this.countIn(WorkerState.Idle));
        this.scheduleTrim(now);
      }
      // The last ready spare taken: its replacement at once (the next client would wait).
      if (this.firstIn(WorkerState.Idle) === undefined) setImmediate(() => this.pump());
      else this.replaceLater();
      return Promise.resolve(spare);
    }
    if (this.unavailable() !== undefined) return Promise.resolve(undefined);
    if (this.policy.adaptive) this.spareWasMissed();
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
    this.events.onAssigned?.(worker);
  }

  /**
   * Closes a serving worker's client with 4002 (POST /disconnect): the worker closes
   * and exits, ending its command as at any close; SIGKILL if it has not exited after
   * `graceMs` (its command's group is then ended by the CommandReaper).
   */
  disconnect(worker: Worker, graceMs = DISCONNECT_GRACE_MS): void {
    const code = AppCloseCode.Disconnected;
    this.closeClient(worker, { code, reason: APP_CLOSE_REASON[code], graceMs });
  }

  /**
   * Closes a serving worker's client with this code and reason (the IPC `disconnect`
   * every worker version understands: a drain's 1012 too); SIGKILL if it has not exited
   * after `graceMs`. False when the worker serves no client (gone, or closing already).
   */
  closeClient(worker: Worker, close: { code: number; reason: string; graceMs?: number }): boolean {
    if (worker.state !== WorkerState.Serving) return false;
    const { code, reason, graceMs = DISCONNECT_GRACE_MS } = close;
    worker.send({ type: 'disconnect', code, reason });
    worker.moveTo(WorkerState.Exiting);
    const timer = setTimeout(() => this.terminate(worker, 'SIGKILL'), graceMs);
    timer.unref();
    worker.process.once('exit', () => clearTimeout(timer));
    return true;
  }

  /** Asks a worker to end (its client quit): SIGTERM, as the original's posix_kill. */
  terminate(worker: Worker, signal: NodeJS.Signals = 'SIGTERM'): void {
    if (worker.state === WorkerState.Exited) return;
    if (worker.state !== WorkerState.Exiting) worker.moveTo(WorkerState.Exiting);
    worker.signal(signal);
  }

  /**
   * A worker adopted in a hot upgrade (its process: src/master/upgrade/adopted-process.ts),
   * serving `client` from now on, as if this pool had forked it.
   */
  adopt(process: ChildProcess, client: ClientInfo): Worker {
    const worker = new Worker(process);
    worker.moveTo(WorkerState.Idle);
    worker.moveTo(WorkerState.Reserved);
    worker.moveTo(WorkerState.Serving, client);
    this.workers.add(worker);
    process.on('message', (message: WorkerMessage) => this.onMessage(worker, message));
    process.on('exit', (code: number | null, signal: NodeJS.Signals | null) =>
      this.onExit(worker, code, signal),
    );
    return worker;
  }

  /**
   * A hot upgrade hands the clients over: no more forks, and the spares (ready or
   * starting) are ended; the new master forks its own.
   */
  freeze(): void {
    this.frozen = true;
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    clearTimeout(this.replaceTimer);
    this.replaceTimer = undefined;
    this.failWaiters();
    for (const worker of [...this.workers]) {
      if (worker.state === WorkerState.Idle || worker.state === WorkerState.Starting) {
        clearTimeout(this.startTimers.get(worker));
        this.terminate(worker);
      }
    }
  }

  /**
   * A hot upgrade's new master while the old one's workers re-attach: no spares (each is
   * a Node start, some 30 ms of CPU, competing with the re-attaches); a client that comes
   * meanwhile still gets a worker forked for it.
   */
  holdSpares(): void {
    this.sparesHeld = true;
  }

  /** The re-attaches are done: the spares are forked. */
  releaseSpares(): void {
    this.sparesHeld = false;
    this.pump();
  }

  /** The hot upgrade failed: spares again. */
  thaw(): void {
    this.frozen = false;
    this.pump();
  }

  /**
   * Starts workers while fewer are idle (ready or starting) than the spares wanted plus
   * the clients waiting, at most `maxStarting` at a time, and not while backing off.
   */
  private pump(): void {
    if (this.stopping || this.frozen || this.pumpTimer !== undefined) return;
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
    const spares = this.sparesHeld ? 0 : this.policy.target(Date.now());
    const wanted = spares + this.waiters.length - idle;
    for (let i = 0; i < Math.min(wanted, this.maxStarting - starting); i++) {
      if (!this.forkWorker()) return;
    }
  }

  /**
   * Forks a taken spare's replacement REPLACE_AFTER_MS later, and not while a handshake
   * is in flight (a worker reserved), at most REPLACE_DEFERRALS times: the fork blocks
   * the master (1-5 ms, 100 ms on a loaded box: libuv's spawn waits for the exec) and
   * the child's start takes a core for about 20 ms. Forked at once, it fell on the
   * client that took the spare: its 101, its first push, a quit right after (the
   * bench's paced tails). Only while another spare is ready: the delay adds to the time
   * a replacement takes, and on a box so loaded that a start takes 250 ms the spares ran
   * out at one client per 200 ms with a 100 ms delay (paced-pair.js). A client waiting
   * for a worker never waits for this: with waiters, acquire() forks at once.
   */
  private replaceLater(deferrals = 0): void {
    if (this.replaceTimer !== undefined) return;
    this.replaceTimer = setTimeout(() => {
      this.replaceTimer = undefined;
      const inFlight = this.firstIn(WorkerState.Reserved) !== undefined;
      if (inFlight && this.waiters.length === 0 && deferrals < REPLACE_DEFERRALS) {
        this.replaceLater(deferrals + 1);
        return;
      }
      this.pump();
    }, REPLACE_AFTER_MS);
  }

  /** A client found no ready spare: the target grows (logged once a second at most). */
  private spareWasMissed(): void {
    const now = Date.now();
    this.policy.waited(now);
    this.scheduleTrim(now);
    if (this.riseTimer !== undefined) {
      this.missed++;
      return;
    }
    if (this.policy.target(now) <= this.shownTarget) return;
    this.missed = 1;
    this.riseTimer = setTimeout(() => {
      this.riseTimer = undefined;
      const target = this.policy.target(Date.now());
      if (target <= this.shownTarget) return;
      this.options.logger.info(
        `Spare workers: target ${this.shownTarget} → ${target} (${this.missed} client(s) waited for a worker to start)`,
      );
      this.shownTarget = target;
    }, 1000);
  }

  /**
   * Arms the timer that lowers the target and retires surplus idle workers, unless it
   * is armed already: it re-arms itself when it wakes early (the hold was renewed).
   * `surplus`: also while idle workers exceed an unchanging target (after a step down).
   */
  private scheduleTrim(now: number, surplus = false): void {
    if (this.trimTimer !== undefined || this.stopping) return;
    let at = this.policy.nextChangeAt(now);
    if (at === undefined && surplus && this.surplus(now) > 0) at = now + this.policy.stepMs;
    if (at === undefined) return;
    this.trimTimer = setTimeout(() => {
      this.trimTimer = undefined;
      this.trim();
    }, at - now);
  }

  /** Idle workers (ready or starting) above the target. */
  private surplus(now: number): number {
    const idle = this.countIn(WorkerState.Idle) + this.countIn(WorkerState.Starting);
    return idle - this.policy.target(now);
  }

  /**
   * The target may have fallen: retire one surplus ready worker (SIGTERM: an idle
   * worker has no client, it just exits), log the change, and wake again for the next.
   */
  private trim(): void {
    if (this.stopping) return;
    const now = Date.now();
    const target = this.policy.target(now);
    const spare = this.surplus(now) > 0 ? this.firstIn(WorkerState.Idle) : undefined;
    if (target < this.shownTarget || spare !== undefined) {
      const change =
        target < this.shownTarget ? `target ${this.shownTarget} → ${target}` : `target ${target}`;
      const retiring = spare === undefined ? '' : `; retiring idle worker pid ${spare.pid}`;
      const line = `Spare workers: ${change}${retiring}`;
      if (target === this.policy.min && target < this.shownTarget) {
        this.options.logger.info(`${line} (back to the minimum: no client needed a spare)`);
      } else {
        this.options.logger.debug(line);
      }
      this.shownTarget = Math.min(this.shownTarget, target);
      if (spare !== undefined) this.terminate(spare);
    }
    this.scheduleTrim(now, true);
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
      this.events.onClientMessage(worker, message);
      return;
    }
    if (worker.state !== WorkerState.Starting) return;
    clearTimeout(this.startTimers.get(worker));
    this.startTimers.delete(worker);
    this.recovered();
    worker.moveTo(WorkerState.Idle);
    this.events.onReady?.(worker, (Date.now() - worker.forkedAt) / 1000);
    this.giveToWaiter(worker);
    this.pump(); // a start-up slot is free
  }

  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const served = worker.state === WorkerState.Serving || worker.client !== undefined;
    const wasReady = worker.wasReady;
    // An idle worker the pool asked to go: a retired surplus spare.
    const retired = worker.state === WorkerState.Exiting;
    this.workers.delete(worker);
    clearTimeout(this.startTimers.get(worker));
    this.startTimers.delete(worker);
    worker.moveTo(WorkerState.Exited);
    if (!wasReady) {
      this.failed(worker, `exited before it was ready (code ${code}, signal ${signal})`);
    } else if (served) {
      this.events.onClientGone(worker, code, signal);
    } else if (!this.stopping && !retired) {
      this.options.logger.warn(
        `Idle worker pid ${worker.pid} exited (code ${code}, signal ${signal})`,
      );
    }
    this.events.onExit?.(worker);
    this.pump();
  }

  /** A worker that never became ready: log it, stop it, back off before the next fork. */
  private failed(worker: Worker, why: string): void {
    if (this.stopping || this.frozen || this.failedStarts.has(worker)) return;
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
    clearTimeout(this.replaceTimer);
    clearTimeout(this.trimTimer);
    clearTimeout(this.riseTimer);
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
        this.options.logger.warn(
          `Worker pid ${worker.pid} did not exit in time; sending SIGKILL`,
          worker.meta,
        );
        worker.signal('SIGKILL');
      }
    }, graceMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }
}
