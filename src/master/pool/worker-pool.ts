import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { WORKER_CONFIG_ENV, type WorkerConfig } from '../../shared/config';
import type { MasterMessage, WorkerMessage } from '../../shared/ipc';
import type { Logger } from '../logger';

/** The compiled worker entry; PUSH_WEBSOCKET_TEST_WORKER_ENTRY replaces it (for fault tests only). */
export const DEFAULT_WORKER_ENTRY = path.resolve(__dirname, '../../../workers/push-worker.js');

/** Enough argv bytes for the longest worker title (process.title cannot outgrow them). */
const TITLE_ROOM = 128;
const IDLE_TITLE = 'push-websocket worker idle';
/**
 * Node flags for every worker. A V8 pool of one thread (Node's default is 4) takes a
 * worker from 7 threads to 4 at no measurable cost for this workload; threads count
 * against the kernel's pid_max (32768) when thousands of clients are connected.
 */
export const WORKER_NODE_FLAGS = [`--title=${IDLE_TITLE}`, '--v8-pool-size=1'];

/**
 * Workers run at a lower CPU priority than the master: a Node start-up is about 0.1 s
 * of CPU, and while replacements start the master must still answer handshakes and
 * quits at once. (Raising a niceness needs no privilege; lowering it back would.)
 */
const WORKER_NICENESS = 5;

/** Published messages a worker may have waiting in its IPC channel. */
const MAX_IN_FLIGHT = 1000;

export interface ClientInfo {
  id: number;
  remote: string;
  since: Date;
}

/** One worker process: idle (a spare, or forked on demand) until it gets its one client. */
export class Worker {
  /** Set once the worker has its client; a worker never gets a second one. */
  client: ClientInfo | undefined;
  /** Taken by acquire() for a handshake in progress: no longer a spare. */
  reserved = false;
  ready = false;
  /** The pid of its --exec command, whose process group dies with the worker. */
  commandPid: number | undefined;
  exited = false;
  /** Counted as a failed start already (it is killed, and its exit must not count again). */
  failedStart = false;
  /** Pending while it starts: a worker that is not ready in time has failed. */
  startTimer: NodeJS.Timeout | undefined;
  private readonly reportWaiters: ((pushed: number | undefined) => void)[] = [];

  constructor(readonly process: ChildProcess) {}

  get pid(): number {
    return this.process.pid ?? -1;
  }

  /** IPC messages sent and not yet written to the channel. */
  private inFlight = 0;

  send(message: MasterMessage): void {
    if (!this.process.connected) return;
    this.inFlight++;
    this.process.send(message, () => this.inFlight--);
  }

  /**
   * Queues a published message for this worker's client. A worker that has not taken
   * the last MAX_IN_FLIGHT messages off the channel is stuck: it gets no more.
   */
  publish(data: string): boolean {
    if (this.inFlight >= MAX_IN_FLIGHT || !this.process.connected) return false;
    this.send({ type: 'publish', data });
    return true;
  }

  /** Asks the worker how many pushes it made; undefined if it does not answer in time. */
  report(timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.reportWaiters.push((pushed) => {
        clearTimeout(timer);
        resolve(pushed);
      });
      if (this.reportWaiters.length === 1) this.send({ type: 'report' });
    });
  }

  reported(pushed: number | undefined): void {
    for (const waiter of this.reportWaiters.splice(0)) waiter(pushed);
  }
}

/**
 * A worker's environment: the server's, less the publish token (an --exec command
 * inherits it and must not see the token), plus the worker's settings.
 */
function workerEnvironment(config: WorkerConfig): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) };
  delete env.PUSH_WS_PUBLISH_TOKEN;
  return env;
}

export interface WorkerPoolOptions {
  spares: number;
  workerConfig: WorkerConfig;
  logger: Logger;
  entry?: string;
  /** How long a fork may take to report ready before it counts as failed. */
  readyTimeoutMs?: number;
  /** How long a client may wait for a ready worker before it gets 503. */
  waitTimeoutMs?: number;
  /** Called when a worker asks for its client to be ended (text "quit"/"exit"). */
  onQuit(worker: Worker, text: string): void;
  /** Called once a worker that had a client has exited. */
  onClientGone(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * Forks and reaps workers. Keeps `spares` idle workers ready (like Apache's prefork
 * spares) so a client does not wait for a Node start-up; a worker serves one client
 * and is never reused. Workers that die before they are ready count as failures:
 * the pool backs off (exponentially, up to 30 s) instead of forking in a tight loop.
 */
export class WorkerPool {
  readonly workers = new Set<Worker>();
  private readonly entry: string;
  private readonly readyTimeoutMs: number;
  private readonly waitTimeoutMs: number;
  /** Node start-ups at once: one per core, so the master and serving workers keep a share. */
  private readonly maxStarting = Math.max(1, os.cpus().length);
  /** Clients (handshakes) waiting for a worker, oldest first. */
  private waiters: ((worker: Worker | undefined) => void)[] = [];
  private failures = 0;
  private backoffUntil = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.entry = options.entry ?? DEFAULT_WORKER_ENTRY;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 5000;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 10000;
  }

  start(): void {
    this.pump();
  }

  /** Idle workers that are ready for a client. */
  get spares(): Worker[] {
    return [...this.workers].filter((worker) => !worker.reserved && worker.ready);
  }

  /** Workers serving a client. */
  get busy(): Worker[] {
    return [...this.workers].filter((worker) => worker.client !== undefined);
  }

  /**
   * A ready worker for a new client, or undefined when none can be had in time: a ready
   * spare if there is one, otherwise the next worker to become ready (unless the pool
   * is backing off after failed starts). The caller must give it a client or release it.
   */
  acquire(): Promise<Worker | undefined> {
    const spare = this.spares[0];
    if (spare !== undefined) {
      spare.reserved = true;
      // After this tick: the hand-off comes first, and the replacement's synchronous
      // spawn (a few ms of the master's time) does not delay the client that took the spare.
      setImmediate(() => this.pump());
      return Promise.resolve(spare);
    }
    if (this.stopping || Date.now() < this.backoffUntil) return Promise.resolve(undefined);
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

  /** Gives back a worker whose handshake did not complete: it is a spare again. */
  release(worker: Worker): void {
    worker.reserved = false;
    this.giveToWaiter(worker);
  }

  /**
   * Starts workers while fewer are idle (ready or starting) than the spares wanted plus
   * the clients waiting, at most `maxStarting` at a time, and not while backing off.
   */
  private pump(): void {
    if (this.stopping || this.pumpTimer !== undefined) return;
    const wait = this.backoffUntil - Date.now();
    if (wait > 0) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    const all = [...this.workers];
    const starting = all.filter((worker) => !worker.ready).length;
    const idle = all.filter((worker) => !worker.reserved).length;
    const wanted = this.options.spares + this.waiters.length - idle;
    for (let i = 0; i < Math.min(wanted, this.maxStarting - starting); i++) this.forkWorker();
  }

  private giveToWaiter(worker: Worker): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) return;
    worker.reserved = true;
    waiter(worker);
  }

  private forkWorker(): Worker {
    const execArgv = WORKER_NODE_FLAGS;
    const args: string[] = [];
    const room = [process.execPath, ...execArgv, this.entry].reduce(
      (sum, arg) => sum + Buffer.byteLength(arg) + 1,
      0,
    );
    if (room < TITLE_ROOM) args.push('-'.repeat(TITLE_ROOM - room));
    const child = fork(this.entry, args, {
      execArgv,
      env: workerEnvironment(this.options.workerConfig),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    try {
      // (pid 0 would be the master itself: a spawn that failed has no pid)
      if (child.pid !== undefined) os.setPriority(child.pid, WORKER_NICENESS);
    } catch {
      // not allowed here: it runs at the master's priority
    }
    const worker = new Worker(child);
    this.workers.add(worker);
    worker.startTimer = setTimeout(
      () => this.failed(worker, 'did not report ready'),
      this.readyTimeoutMs,
    );
    child.on('message', (message: WorkerMessage) => this.onMessage(worker, message));
    child.on('error', (error) => this.options.logger.error(`worker error: ${error.message}`));
    child.on('exit', (code, signal) => this.onExit(worker, code, signal));
    return worker;
  }

  private onMessage(worker: Worker, message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        clearTimeout(worker.startTimer);
        this.failures = 0;
        worker.ready = true;
        this.giveToWaiter(worker);
        this.pump(); // a start-up slot is free
        return;
      case 'quit':
        this.options.onQuit(worker, message.text);
        return;
      case 'log':
        this.options.logger[message.level](message.message, {
          client: worker.client?.id,
          pid: worker.pid,
        });
        return;
      case 'report':
        worker.reported(message.pushed);
        return;
      case 'command':
        worker.commandPid = message.pid;
        return;
    }
  }

  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    worker.exited = true;
    this.workers.delete(worker);
    this.endCommand(worker);
    worker.reported(undefined);
    clearTimeout(worker.startTimer);
    if (!worker.ready) {
      this.failed(worker, `exited before it was ready (code ${code}, signal ${signal})`);
    } else if (worker.client !== undefined) {
      this.options.onClientGone(worker, code, signal);
    } else if (!this.stopping) {
      this.options.logger.warn(
        `Idle worker pid ${worker.pid} exited (code ${code}, signal ${signal})`,
      );
    }
    this.pump();
  }

  /**
   * A worker normally ends its command before it exits; one that was killed could not.
   * The command runs in a process group of its own: end the whole group.
   */
  private endCommand(worker: Worker): void {
    if (worker.commandPid === undefined) return;
    try {
      process.kill(-worker.commandPid, 'SIGKILL');
      this.options.logger.warn(`Killed the command of a dead worker (pid ${worker.commandPid})`, {
        client: worker.client?.id,
        pid: worker.pid,
      });
    } catch {
      // already gone, as it should be
    }
  }

  /** A worker that never became ready: log it, stop it, back off before the next fork. */
  private failed(worker: Worker, why: string): void {
    if (this.stopping || worker.failedStart) return;
    worker.failedStart = true;
    this.failures++;
    const delay = Math.min(30_000, 100 * 2 ** (this.failures - 1));
    this.backoffUntil = Date.now() + delay;
    this.options.logger.error(
      `Worker pid ${worker.pid} failed to start: ${why}; next fork in ${delay} ms`,
    );
    if (!worker.exited) worker.process.kill('SIGKILL');
    // No worker will be ready before the back-off ends: the waiting clients get 503 now.
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  /**
   * Ends every worker: clients get close 1001 (IPC shutdown), spares just exit.
   * Workers still alive after `graceMs` are killed with SIGKILL, which is logged.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pumpTimer);
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    const all = [...this.workers];
    const exits = all.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.exited) resolve();
          else worker.process.once('exit', () => resolve());
        }),
    );
    for (const worker of all) {
      if (worker.client !== undefined) worker.send({ type: 'shutdown' });
      else worker.process.kill('SIGTERM');
      clearTimeout(worker.startTimer);
    }
    const timer = setTimeout(() => {
      for (const worker of this.workers) {
        this.options.logger.warn(`Worker pid ${worker.pid} did not exit in time; sending SIGKILL`);
        worker.process.kill('SIGKILL');
      }
    }, graceMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }
}
