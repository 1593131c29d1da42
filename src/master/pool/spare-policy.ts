/**
 * How many idle workers the pool keeps ready: `--spare-workers N` (always N) or
 * `--spare-workers MIN:MAX` (adaptive). Pure: the pool tells it what clients did and
 * when, and asks for the target; times are milliseconds on any clock.
 *
 * The adaptive rule, in the spirit of Apache prefork's MinSpareServers/MaxSpareServers
 * and of autoscalers that grow at once and shrink slowly:
 *
 * - grow: each client that found no ready spare (it waits for a start-up) raises the
 *   target by one, up to MAX. A burst of 20 clients on 2 spares raises it by 18 within
 *   the burst. (Apache doubles its spawn rate while below the minimum; here start-ups
 *   stay at one per core, which measured best, so only the target can grow.)
 * - hold: the target stays while the spares are being used: a client waited, or took
 *   a spare and left fewer than MIN ready (none, with MIN 0).
 * - shrink: after `holdMs` without such a use, the target falls by one every `stepMs`
 *   down to MIN (the pool retires one surplus idle worker each time). A trickle of
 *   clients that a few spares absorb lets it fall, to where the spares are used.
 *
 * It cannot help the first burst after a long quiet time: the target is MIN then.
 */
export interface SparePolicyOptions {
  min: number;
  max: number;
  /** How long the target holds after the spares were last used (default 30 s). */
  holdMs?: number;
  /** Then one step down per this many ms (default 1 s: one surplus worker a second). */
  stepMs?: number;
}

export const SPARE_HOLD_MS = 30_000;
export const SPARE_STEP_MS = 1000;

export class SparePolicy {
  readonly min: number;
  readonly max: number;
  private readonly holdMs: number;
  /** Milliseconds between two steps down. */
  readonly stepMs: number;
  /** The target as of `usedAt` (it only falls after that). */
  private level: number;
  /** When the spares were last used (a wait, or a take that left fewer than MIN). */
  private usedAt = -Infinity;

  constructor(options: SparePolicyOptions) {
    const { min, max } = options;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
      throw new RangeError(`spare policy needs whole numbers 0 ≤ min ≤ max (got ${min}:${max})`);
    }
    this.min = min;
    this.max = max;
    this.holdMs = options.holdMs ?? SPARE_HOLD_MS;
    this.stepMs = options.stepMs ?? SPARE_STEP_MS;
    this.level = min;
  }

  /** Whether the target can move at all (MIN below MAX). */
  get adaptive(): boolean {
    return this.max > this.min;
  }

  /** The idle workers (ready or starting) wanted at `now`. */
  target(now: number): number {
    const since = now - this.usedAt - this.holdMs;
    if (since < 0) return this.level;
    return Math.max(this.min, this.level - 1 - Math.floor(since / this.stepMs));
  }

  /**
   * When the target will next fall if nothing else happens; undefined when it is at
   * MIN (nothing to fall to).
   */
  nextChangeAt(now: number): number | undefined {
    const target = this.target(now);
    if (target <= this.min) return undefined;
    const fallsFrom = this.usedAt + this.holdMs;
    if (now < fallsFrom) return fallsFrom;
    return fallsFrom + (this.level - target) * this.stepMs;
  }

  /** A client found no ready spare: it waits for a start-up. */
  waited(now: number): void {
    if (!this.adaptive) return;
    this.used(now, Math.min(this.max, this.target(now) + 1));
  }

  /** A client took a ready spare and left `readyLeft` ready ones. */
  taken(now: number, readyLeft: number): void {
    if (!this.adaptive) return;
    if (readyLeft < this.min || readyLeft === 0) this.used(now, this.target(now));
  }

  private used(now: number, level: number): void {
    this.level = level;
    this.usedAt = now;
  }
}
