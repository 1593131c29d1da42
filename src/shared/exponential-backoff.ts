/**
 * Exponential back-off, the one module for it: the bare delay (exponentialDelay), the
 * delay with equal jitter for reconnects (equalJitterDelay), and a failure counter that
 * gates retries (Backoff). Pure: the clock and the random draw are injected.
 */

/**
 * The delay before try `attempt` (1 for the first after a failure): `baseMs`, doubling
 * per attempt, at most `maxMs`.
 */
export function exponentialDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** (attempt - 1));
}

/**
 * Exponential back-off after failures: `initialMs`, doubling per failure, at most
 * `maxMs`. Used for worker starts and --channel-exec restarts; Backoff.jittered for
 * what retries Redis (equalJitterDelay).
 */
export class Backoff {
  private count = 0;
  private until = 0;
  private readonly delayOf: (failures: number) => number;

  constructor(
    initialMs: number,
    maxMs: number,
    private readonly now: () => number = Date.now,
    delayOf?: (failures: number) => number,
  ) {
    this.delayOf = delayOf ?? ((failures) => exponentialDelay(failures, initialMs, maxMs));
  }

  /** The same, with equal jitter: for many instances that may retry Redis at once. */
  static jittered(options: BackoffOptions, now: () => number = Date.now): Backoff {
    return new Backoff(options.baseMs, options.maxMs, now, (failures) =>
      equalJitterDelay(failures, options),
    );
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.count;
  }

  /** Counts a failure; returns the delay before the next try. */
  fail(): number {
    this.count++;
    const delay = this.delayOf(this.count);
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

/**
 * Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with "equal jitter"
 * (half fixed, half random) so that many instances that lost Redis together do not
 * all knock at the same instant when it comes back. Pure (random is injected).
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 50, maxMs: 2000 };

/** The delay before reconnect attempt `attempt` (1 for the first), with equal jitter. */
export function equalJitterDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  // Attempts past 31 are the 31st (the exponent stays at most 30).
  const clamped = Math.min(Math.max(attempt, 1), 31);
  const ceiling = exponentialDelay(clamped, options.baseMs, options.maxMs);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
