/** How often a serving worker looks at its own RSS. */
const CHECK_EVERY_MS = 1000;

/**
 * A worker's memory ceiling (--worker-memory-limit), defence in depth behind
 * --max-buffered: a worker whose resident set passes the limit calls `over` once (it
 * closes its client with 1011 and exits). Reading the RSS is one small /proc read.
 */
export class MemoryCeiling {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limitBytes: number,
    private readonly over: (rssBytes: number) => void,
    private readonly rss: () => number = () => process.memoryUsage.rss(),
  ) {}

  start(): void {
    if (this.limitBytes <= 0) return;
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  check(): void {
    const rss = this.rss();
    if (rss <= this.limitBytes) return;
    this.stop();
    this.over(rss);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
