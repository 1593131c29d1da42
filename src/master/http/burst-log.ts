/**
 * One log line per burst, not one per event: the first event of a key is logged as it
 * happens; the ones that follow within the same interval are only counted, and at the
 * interval's end one line says how many there were. A key quiet for a whole interval is
 * forgotten, so its next event is logged again. A flood of refusals (a slowloris, one
 * address over its connection rate) costs a line per interval, not a line per socket.
 *
 * Memory is bounded: at most `maxKeys` keys are tracked; past that, events of new keys
 * are counted together under one overflow line (`overflow(count)`).
 */

export interface BurstLine {
  /** The line for the first event of a burst. */
  first: string;
  /** The line for `count` more events of the same burst, at the interval's end. */
  more: (count: number) => string;
}

interface Burst {
  line: BurstLine;
  /** Events since the last line (beyond the first). */
  count: number;
}

export class BurstLog {
  private readonly bursts = new Map<string, Burst>();
  private overflowCount = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly write: (line: string) => void,
    /** The line for events of keys past `maxKeys`. */
    private readonly overflow: (count: number) => string = (count) =>
      `${count} more such event(s) from other sources`,
    private readonly maxKeys = 1000,
  ) {}

  /** Keys with a burst in progress (for tests of the bound). */
  get tracked(): number {
    return this.bursts.size;
  }

  event(key: string, line: BurstLine): void {
    const burst = this.bursts.get(key);
    if (burst !== undefined) {
      burst.count++;
      burst.line = line;
      return;
    }
    if (this.bursts.size >= this.maxKeys) {
      this.overflowCount++;
      return;
    }
    this.bursts.set(key, { line, count: 0 });
    this.write(line.first);
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** The interval's end: a line for each burst that went on, and the quiet ones forgotten. */
  private tick(): void {
    for (const [key, burst] of this.bursts) {
      if (burst.count === 0) {
        this.bursts.delete(key);
        continue;
      }
      this.write(burst.line.more(burst.count));
      burst.count = 0;
    }
    if (this.overflowCount > 0) {
      this.write(this.overflow(this.overflowCount));
      this.overflowCount = 0;
    }
    if (this.bursts.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
