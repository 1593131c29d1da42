/**
 * The delay before try `attempt` (1 for the first after a failure): `baseMs`, doubling
 * per attempt, at most `maxMs`.
 */
export function exponentialDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** (attempt - 1));
}

/**
 * Exponential back-off after failures: `initialMs`, doubling per failure, at most
 * `maxMs`. Used for worker starts and --channel-exec restarts (the Redis backplane's
 * reconnects add jitter: broker/backoff.ts).
 */
export class Backoff {
  private count = 0;
  private until = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Failures since the last success. */
  get failures(): number {
    return this.count;
  }

  /** Counts a failure; returns the delay before the next try. */
  fail(): number {
    this.count++;
    const delay = exponentialDelay(this.count, this.initialMs, this.maxMs);
    this.until = this.now() + delay;
    return delay;
  }

  reset(): void {
    this.count = 0;
    this.until = 0;
  }

  /** Milliseconds left before the next try is allowed (0 when it is). */
  remainingMs(): number {
    return Math.max(0, this.until - this.now());
  }
}
