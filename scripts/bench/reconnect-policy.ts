/**
 * When a client that lost its connection tries again: exponential back-off with full
 * jitter (a random delay up to BASE × 2^failures, at most CAP), so that a thousand
 * clients dropped at once by a restart do not come back in one wave; and a server's
 * Retry-After is a floor (the wait is at least that, plus up to half of it again, so
 * the clients told the same number spread out too). Pure: the random source is given.
 */
export interface ReconnectPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { baseMs: 500, capMs: 8000 };

/**
 * Milliseconds to wait before the next attempt. `failures` counts the attempts that
 * failed since the last connection that worked (0: the connection just closed).
 */
export function reconnectDelayMs(
  failures: number,
  retryAfterS: number | undefined,
  random: () => number,
  policy: ReconnectPolicy = DEFAULT_RECONNECT,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(failures, 30));
  const backoff = random() * ceiling;
  if (retryAfterS === undefined) return backoff;
  const floor = retryAfterS * 1000;
  return Math.max(backoff, floor + random() * floor * 0.5);
}
