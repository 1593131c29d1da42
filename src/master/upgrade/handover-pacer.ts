/** How the pacer waits (a test gives a fake clock). */
export interface PacerTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export interface PacerOptions {
  /** How many workers re-attach at once. */
  atOnce: number;
  /** A worker that has not re-attached after this long frees its place (it goes on trying). */
  slotMs: number;
  timers?: PacerTimers;
}

const REAL_TIMERS: PacerTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/**
 * The old master's side of the re-attaches (docs/upgrade.md): tells its workers to
 * re-attach a few at a time, the next as the new master says which have (`done`), not
 * all at once. Told at once, a thousand workers were a thousand runnable processes
 * beside the new master, which adopts them one by one on its event loop and got a
 * fraction of a per cent of a CPU: it waited on the run queue 1.8 s of every 2 s, and
 * the re-attaches took 9.7 s at 1,000 clients with nothing else running.
 */
export class HandoverPacer<W extends { readonly pid: number }> {
  private readonly queue: W[];
  private readonly pending = new Map<number, unknown>();
  private readonly timers: PacerTimers;

  constructor(
    workers: readonly W[],
    private readonly tell: (worker: W) => void,
    private readonly options: PacerOptions,
  ) {
    this.queue = [...workers];
    this.timers = options.timers ?? REAL_TIMERS;
  }

  /** Tells the first ones. */
  start(): void {
    this.fill();
  }

  /** Workers the new master has taken (adopted or drained): their places go to the next. */
  done(pids: readonly number[]): void {
    for (const pid of pids) this.free(pid);
    this.fill();
  }

  /** The new master waits no more: every worker not told yet is told now. */
  rest(): void {
    for (const worker of this.queue.splice(0)) this.tell(worker);
  }

  /**
   * The hand-over failed (the new master died): no worker is told any more, and no
   * timer of the pacer's is left.
   */
  stop(): void {
    this.queue.splice(0);
    for (const timer of this.pending.values()) this.timers.clearTimeout(timer);
    this.pending.clear();
  }

  /** Workers not told yet. */
  get waiting(): number {
    return this.queue.length;
  }

  private free(pid: number): void {
    const timer = this.pending.get(pid);
    if (timer === undefined) return;
    this.timers.clearTimeout(timer);
    this.pending.delete(pid);
  }

  private fill(): void {
    while (this.pending.size < this.options.atOnce && this.queue.length > 0) {
      const worker = this.queue.shift() as W;
      const { pid } = worker;
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(pid);
        this.fill();
      }, this.options.slotMs);
      this.pending.set(pid, timer);
      this.tell(worker);
    }
  }
}
