import { createHash } from 'node:crypto';
import { IdempotencyKeyReusedError, type PublishResult } from './types';

/**
 * Idempotency keys of POST /publish (Idempotency-Key, or `idempotency_key`): what both
 * brokers share, and the in-memory broker's store. The Redis broker keeps its keys in
 * Redis, checked and written by the publish script (redis-scripts.ts).
 *
 * A key is scoped to its channel and lives `windowMs` after the first publication; a
 * second publication with it in that time is not made, and answers the first one's
 * offset and epoch. The key remembers a fingerprint of the data: the same key with
 * other data is an error (a client bug), not a silent replay.
 */

/** Default window: 5 minutes (--idempotency-window). */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 300_000;

/** Keys the in-memory store holds at most; past it the oldest go first. */
export const MAX_MEMORY_KEYS = 100_000;

/** Visible ASCII, 1 to 200 characters (a UUID, a hash, "order-42:retry"). */
const KEY = /^[\x21-\x7e]{1,200}$/;

/** Why a key is not acceptable, or undefined when it is. */
export function checkIdempotencyKey(key: string): string | undefined {
  return KEY.test(key) ? undefined : 'an idempotency key is 1-200 visible ASCII characters';
}

/** What a key remembers of its publication's data (not the data itself). */
export function dataFingerprint(data: string): string {
  return createHash('sha256').update(data).digest('base64url').slice(0, 24);
}

interface Remembered {
  result: PublishResult;
  fingerprint: string;
  expires: number;
}

/**
 * One remembered key as a hot upgrade hands it to the new master (docs/upgrade.md):
 * `expires` in ms since the epoch (both masters share the machine's clock).
 */
export interface RememberedKey extends Remembered {
  channel: string;
  key: string;
}

/** The in-memory broker's keys: bounded in count and in time. */
export class IdempotencyMemo {
  /** Insertion order is expiry order: every key lives the same window. */
  private readonly entries = new Map<string, Remembered>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = MAX_MEMORY_KEYS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The first answer for this channel and key within the window (marked `replayed`),
   * or undefined. Throws IdempotencyKeyReusedError when the key was used for other data.
   */
  replay(channel: string, key: string, data: string): PublishResult | undefined {
    this.expire();
    const entry = this.entries.get(memoKey(channel, key));
    if (entry === undefined) return undefined;
    if (entry.fingerprint !== dataFingerprint(data)) throw new IdempotencyKeyReusedError();
    return { ...entry.result, replayed: true };
  }

  remember(channel: string, key: string, data: string, result: PublishResult): void {
    if (this.windowMs <= 0) return;
    const name = memoKey(channel, key);
    this.entries.delete(name);
    this.entries.set(name, {
      result: { offset: result.offset, epoch: result.epoch },
      fingerprint: dataFingerprint(data),
      expires: this.now() + this.windowMs,
    });
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Every live key, oldest first (a hot upgrade's hand-over). */
  snapshot(): RememberedKey[] {
    this.expire();
    return [...this.entries].map(([name, entry]) => {
      const cut = name.indexOf('\n');
      return { channel: name.slice(0, cut), key: name.slice(cut + 1), ...entry };
    });
  }

  /** Takes on the old master's keys, oldest first, before anything is published here. */
  restore(keys: readonly RememberedKey[]): void {
    if (this.windowMs <= 0) return;
    for (const { channel, key, result, fingerprint, expires } of keys) {
      // This master's window, if shorter (a changed --idempotency-window), bounds them.
      const bounded = Math.min(expires, this.now() + this.windowMs);
      this.entries.set(memoKey(channel, key), { result, fingerprint, expires: bounded });
    }
    while (this.entries.size > this.maxKeys) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.expire();
  }

  private expire(): void {
    const now = this.now();
    for (const [name, entry] of this.entries) {
      if (entry.expires > now) return;
      this.entries.delete(name);
    }
  }
}

function memoKey(channel: string, key: string): string {
  return `${channel}\n${key}`;
}
