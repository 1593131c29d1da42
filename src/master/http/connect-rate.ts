import { fail, ok, type Result } from '../../shared/result';
/**
 * --connect-rate RATE[:BURST]: how many WebSocket handshakes one address may start, as a
 * token bucket per address. Each address has a bucket of BURST tokens that refills at
 * RATE tokens a second; a handshake takes one token, and one that finds the bucket empty
 * is refused (429, Retry-After: the seconds until the next token). Pure: the clock is
 * given.
 *
 * Memory is bounded: a bucket that has refilled to full says nothing a missing bucket
 * does not, so full buckets are dropped (swept at most once a second); when the table
 * is at `maxAddresses` all the same, the address least recently seen is dropped (it starts again with a full bucket: under that
 * many addresses at once, per-address counting can only be approximate).
 */

export interface ConnectRate {
  /** Tokens a second (handshakes a second, sustained). */
  rate: number;
  /** Bucket size: handshakes in a row before the rate applies. */
  burst: number;
}

/**
 * The flag's text: "RATE", "RATE/s", "RATE:BURST" or "RATE/s:BURST"; 0 is off (an ok
 * undefined: no limit), a text that is none of these the reason it is not.
 */
export function parseConnectRate(text: string): Result<ConnectRate | undefined> {
  const match = /^\s*(\d+(?:\.\d+)?)(?:\/s)?(?::(\d+))?\s*$/.exec(text);
  if (match === null) return fail('must be RATE or RATE:BURST (handshakes a second per address)');
  const rate = Number(match[1]);
  if (rate === 0) return ok(undefined);
  const burst = match[2] === undefined ? Math.max(1, Math.ceil(rate * 2)) : Number(match[2]);
  if (burst < 1) return fail('BURST must be 1 or more');
  if (rate > 1_000_000 || burst > 1_000_000) return fail('RATE and BURST are at most 1000000');
  return ok({ rate, burst });
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

export type RateVerdict = { ok: true } | { ok: false; retryAfterS: number };

export class ConnectRateTable {
  /** In order of last use: the first is the least recently seen. */
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(
    private readonly limit: ConnectRate,
    private readonly now: () => number = Date.now,
    private readonly maxAddresses = 10_000,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** One handshake from `address`: allowed (a token taken), or how long to wait. */
  take(address: string): RateVerdict {
    const now = this.now();
    if (now - this.lastSweep >= 1000) this.sweep(now);
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxAddresses) this.dropOldest();
      bucket = { tokens: this.limit.burst, at: now };
    } else {
      this.buckets.delete(address); // re-inserted below: now the most recently seen
      this.refill(bucket, now);
    }
    this.buckets.set(address, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return {
      ok: false,
      retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.rate)),
    };
  }

  private refill(bucket: Bucket, now: number): void {
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + elapsed * this.limit.rate);
    bucket.at = now;
  }

  /** Drops every bucket that has refilled to full. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [address, bucket] of this.buckets) {
      this.refill(bucket, now);
      if (bucket.tokens >= this.limit.burst) this.buckets.delete(address);
    }
  }

  private dropOldest(): void {
    const oldest = this.buckets.keys().next();
    if (oldest.done !== true) this.buckets.delete(oldest.value);
  }
}
