import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger } from '../observability/logger';
import type { Worker } from '../pool/worker';
import { HandoverPacer } from './handover-pacer';
import {
  UPGRADE_ENV,
  type MasterState,
  type UpgradeEnv,
  type UpgradeMessage,
} from './master-state';

/** How long the new master may take to load and say it is ready (18 s seen at load 300). */
const READY_TIMEOUT_MS = 60_000;
/**
 * How long the old master waits, once it has handed over, for the new one to say the
 * adoptions are done: beyond the new master's own bound (successor.ts, ADOPT_MAX_MS), so
 * that only a new master that hangs meets it.
 */
const ADOPTED_TIMEOUT_MS = 150_000;
/** How many workers re-attach at once (handover-pacer.ts). */
const HANDOVER_AT_ONCE = 16;
/** A worker not re-attached after this long frees its place in the pacing. */
const HANDOVER_SLOT_MS = 3000;
/**
 * How long a passed publish pipe may take to empty (what this master wrote before it
 * froze) before it is released to the new master; one still writing after that is not
 * released: its client's publications wait for its worker's adoption.
 */
const PIPE_DRAIN_MS = 1000;
/** How long passing the pipes may hold the hand-over back (see passPipes). */
const PIPE_PASS_MS = 10_000;
/** The inherited listening socket's descriptor in the new master (its index in stdio). */
const LISTEN_FD = 4;

/** What the hot upgrade needs of the running master. */
export interface UpgradingMaster {
  readonly listeningFd: number | undefined;
  readonly instanceId: string;
  readonly servingWorkers: Worker[];
  handOver(): Promise<MasterState>;
  /** Each handed client's publish pipe (handed-pipe.ts). */
  publishPipes(): { client: number; pipe: Socket }[];
  /** The hand-over failed after it began: serve again on host:port. */
  resume(): Promise<void>;
}

type Phase = 'idle' | 'starting' | 'handing-over' | 'done';

/**
 * The old master's side of a hot upgrade (SIGUSR2; docs/upgrade.md). It forks a new
 * master from the code on disk, with the same command line and environment, giving it
 * the listening socket (fd 4) and an IPC channel. When the new master says it is ready
 * (loaded, its control socket listening), this one stops accepting and delivering,
 * hands over its state, and tells each serving worker to re-attach to the new master;
 * once the new master has adopted them, this one exits, leaving its workers running.
 * If the new master fails before that, this one carries on and logs why.
 */
export class HotUpgrade {
  private phase: Phase = 'idle';
  private child: ChildProcess | undefined;
  private startedAt = 0;
  /** The new master's control socket. */
  private control = '';
  /** The pipes passed to the new master (passPipes), released once frozen. */
  private passed: { client: number; pipe: Socket }[] = [];
  /** Tells the workers to re-attach, a few at a time, once the new master listens. */
  private pacer: HandoverPacer<Worker> | undefined;

  constructor(
    private readonly master: UpgradingMaster,
    private readonly logger: Logger,
    /** Ends this process once the new master has taken over (logs flushed). */
    private readonly exit: () => Promise<void>,
  ) {}

  get underWay(): boolean {
    return this.phase !== 'idle';
  }

  start(): void {
    if (this.phase !== 'idle') {
      this.logger.warn(`SIGUSR2: a hot upgrade is already under way (${this.phase})`);
      return;
    }
    const fd = this.master.listeningFd;
    if (fd === undefined) {
      this.logger.error('Hot upgrade failed: no listening socket to hand over; carrying on');
      return;
    }
    this.phase = 'starting';
    this.startedAt = Date.now();
    const upgrade: UpgradeEnv = {
      fd: LISTEN_FD,
      instanceId: this.master.instanceId,
      from: process.pid,
    };
    let child: ChildProcess;
    try {
      child = fork(process.argv[1], process.argv.slice(2), {
        execArgv: process.execArgv,
        env: { ...process.env, [UPGRADE_ENV]: JSON.stringify(upgrade) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc', fd],
      });
    } catch (error) {
      this.failed(`cannot start a new master: ${(error as Error).message}`);
      return;
    }
    this.child = child;
    this.logger.info(`SIGUSR2: hot upgrade, starting a new master (pid ${child.pid})`);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      this.failed(`the new master (pid ${child.pid}) was not ready in ${READY_TIMEOUT_MS} ms`);
    }, READY_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      this.failed(`cannot start a new master: ${error.message}`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      this.childExited(child, code, signal);
    });
    child.on('message', (message: UpgradeMessage) => {
      if (message.type === 'ready' && this.phase === 'starting') {
        clearTimeout(timer);
        // A new master of a build before the pipes (a rollback) is passed none.
        const pipes = message.pipes === true;
        void (pipes ? this.passPipes(child) : Promise.resolve()).then(() => {
          if (this.phase === 'starting' && this.child === child) {
            void this.handOver(child, message.control, pipes);
          }
        });
      } else if (message.type === 'listening' && this.phase === 'handing-over') {
        // The new master accepts: this one's workers re-attach to it, a few at a time.
        const handover = { type: 'handover', path: this.control, master: child.pid ?? 0 } as const;
        this.pacer = new HandoverPacer(
          this.master.servingWorkers,
          (worker) => worker.send(handover),
          {
            atOnce: HANDOVER_AT_ONCE,
            slotMs: HANDOVER_SLOT_MS,
          },
        );
        this.pacer.start();
      } else if (message.type === 'reattached' && this.phase === 'handing-over') {
        this.pacer?.done(message.pids);
      } else if (message.type === 'adopted' && this.phase === 'handing-over') {
        void this.finish(child, message.adopted, message.missing);
      }
    });
  }

  private async handOver(child: ChildProcess, control: string, pipes: boolean): Promise<void> {
    this.phase = 'handing-over';
    const handingAt = Date.now();
    const state = await this.master.handOver();
    this.logger.info(`Hot upgrade: stopped accepting; state ready in ${Date.now() - handingAt} ms`);
    if (this.phase !== 'handing-over') return; // the new master died meanwhile
    const message: UpgradeMessage = { type: 'state', state: pipes ? { ...state, pipes } : state };
    child.send(message);
    this.control = control;
    setTimeout(() => void this.finish(child, -1, -1), ADOPTED_TIMEOUT_MS).unref();
    if (pipes) await this.releasePipes(child);
  }

  /**
   * Passes each serving client's publish pipe to the new master (handed-pipe.ts) while
   * this one still serves: one descriptor per IPC message, each acknowledged before the
   * next, about 0.5 ms apiece (450 ms for 1,000 on a loaded machine: done inside the
   * freeze, it was the longest publish pause). This master keeps its own descriptor
   * (`keepOpen`) and writes on; the new one writes nothing to a pipe until told that
   * this one has finished with it (releasePipes). Bounded: a new master slow to take
   * them is handed over to all the same (what is left goes before the state, in order).
   */
  private async passPipes(child: ChildProcess): Promise<void> {
    const startedAt = Date.now();
    const pipes = this.master.publishPipes();
    await new Promise<void>((resolve) => {
      let left = pipes.length;
      if (left === 0) return resolve();
      const timer = setTimeout(resolve, PIPE_PASS_MS);
      const sent = (): void => {
        if (--left > 0) return;
        clearTimeout(timer);
        resolve();
      };
      for (const { client, pipe } of pipes) {
        const message: UpgradeMessage = { type: 'pipe', client };
        child.send(message, pipe, { keepOpen: true }, sent);
      }
    });
    this.passed = pipes;
    this.logger.info(
      `Hot upgrade: passed ${pipes.length} publish pipe(s) to the new master in ${Date.now() - startedAt} ms`,
    );
  }

  /**
   * Frozen, this master tells the new one which passed pipes it may write to: those with
   * nothing still queued here (waited for, PIPE_DRAIN_MS at most), so that the worker
   * reads this master's frames, then the new master's, whole. A pipe still writing then
   * is not released: its client's publications wait for its adoption.
   */
  private async releasePipes(child: ChildProcess): Promise<void> {
    const startedAt = Date.now();
    let waiting = this.passed.filter(({ pipe }) => !pipe.destroyed);
    const released: number[] = [];
    for (;;) {
      const still: typeof waiting = [];
      for (const handed of waiting) {
        if (handed.pipe.writableLength > 0) still.push(handed);
        else released.push(handed.client);
      }
      waiting = still;
      if (waiting.length === 0 || Date.now() - startedAt >= PIPE_DRAIN_MS) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (this.phase !== 'handing-over' || !child.connected) return;
    }
    child.send({ type: 'pipes', clients: released } satisfies UpgradeMessage);
    if (waiting.length > 0) {
      this.logger.warn(
        `Hot upgrade: ${waiting.length} publish pipe(s) still writing after ${PIPE_DRAIN_MS} ms: ` +
          'their publications wait for their workers to re-attach',
      );
    }
  }

  private async finish(child: ChildProcess, adopted: number, missing: number): Promise<void> {
    if (this.phase !== 'handing-over') return;
    this.phase = 'done';
    // Any worker not told yet goes on its own now (the control socket stays open a while).
    this.pacer?.rest();
    const ms = Date.now() - this.startedAt;
    const counts = adopted < 0 ? 'adoptions not confirmed in time' : `${adopted} worker(s) adopted`;
    const lost = missing > 0 ? `, ${missing} still re-attaching` : '';
    this.logger.info(
      `Hot upgrade: master pid ${child.pid} took over in ${ms} ms (${counts}${lost}); this master exits`,
    );
    child.removeAllListeners('exit');
    if (child.connected) child.disconnect();
    await this.exit();
  }

  private childExited(child: ChildProcess, code: number | null, signal: string | null): void {
    const how = `exited (code ${code}, signal ${signal})`;
    switch (this.phase) {
      case 'starting':
        this.failed(`the new master (pid ${child.pid}) ${how} before it was ready`);
        return;
      case 'handing-over':
        this.phase = 'idle';
        this.passed = [];
        // Workers not told yet stay with this master, which serves them again.
        this.pacer?.stop();
        this.pacer = undefined;
        this.master.resume().then(
          () =>
            this.logger.error(
              `Hot upgrade failed: the new master (pid ${child.pid}) ${how} during the hand-over; this master serves again`,
            ),
          (error: Error) =>
            this.logger.error(
              `Hot upgrade failed: the new master ${how} during the hand-over, and this master cannot listen again: ${error.message}`,
            ),
        );
        return;
      case 'idle':
      case 'done':
        return;
    }
  }

  private failed(why: string): void {
    if (this.phase === 'idle') return;
    this.phase = 'idle';
    this.child = undefined;
    this.passed = [];
    this.logger.error(`Hot upgrade failed: ${why}; this master carries on`);
  }
}
