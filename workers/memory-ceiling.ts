/** How soon after activity a serving worker looks at its own RSS. */
const CHECK_AFTER_MS = 1000;

/**
 * A worker's memory ceiling (--worker-memory-limit), defence in depth behind
 * --max-buffered: a worker whose resident set passes the limit calls `over` once (it
 * closes its client with 1011 and exits). Memory grows only when the worker does
 * something, so the RSS (one small /proc read) is looked at a second after activity
 * and never on a clock of its own: an idle client's worker stays asleep.
 */
export class MemoryCeiling {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly limitBytes: number,
    private readonly over: (rssBytes: number) => void,
    private readonly rss: () => number = () => process.memoryUsage.rss(),
  ) {}

  /** Bytes came in or went out: look within a second (once, however many touches). */
  touch(): void {
    if (this.limitBytes <= 0 || this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.check();
    }, CHECK_AFTER_MS);
    this.timer.unref();
  }

  check(): void {
    const rss = this.rss();
    if (rss <= this.limitBytes) return;
    this.stop();
    this.over(rss);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
