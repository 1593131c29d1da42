/**
 * When to try again: exponential back-off with "equal jitter" (half of each wait fixed,
 * half drawn), and the server's Retry-After. Pure: the caller passes the draw and the
 * clock.
 */

export interface BackoffOptions {
  /** Ceiling of the first wait in ms (the first wait is half to all of it). Default 500. */
  baseMs?: number;
  /** Largest ceiling in ms (waits stay within half to all of it). Default 30000. */
  maxMs?: number;
}

export const DEFAULT_BASE_MS = 500;
export const DEFAULT_MAX_MS = 30000;
/** A Retry-After longer than this is taken as this: a bad header cannot stall a client. */
export const RETRY_AFTER_MAX_MS = 300000;

/**
 * Milliseconds to wait before reconnect number `attempt` (0 = the first after a drop):
 * the ceiling doubles per attempt up to `maxMs`; the wait is ceiling/2 plus a draw of up
 * to ceiling/2, so that clients dropped together do not all come back at once, and none
 * comes back at once. `random` is Math.random or a test's.
 */
export function reconnectDelay(
  attempt: number,
  random: () => number,
  options: BackoffOptions = {},
): number {
  const base = options.baseMs ?? DEFAULT_BASE_MS;
  const max = options.maxMs ?? DEFAULT_MAX_MS;
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 0), 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * A Retry-After header (whole seconds, or an HTTP date) in milliseconds from `now`
 * (epoch ms); undefined when absent or not one of the two forms. At most 5 minutes.
 */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else if (/[a-z]/i.test(text) && !Number.isNaN(Date.parse(text))) {
    ms = Math.max(0, Date.parse(text) - now);
  } else return undefined;
  return Math.min(ms, RETRY_AFTER_MAX_MS);
}

/**
 * The wait after a drain's close (1012) that carried a hint: the hint plus a draw of up
 * to half of it, so that clients closed in the same moment do not come back in the
 * same moment. Pure.
 */
export function restartDelay(hintMs: number, random: () => number): number {
  return Math.round(hintMs + random() * (hintMs / 2));
}

/**
 * The wait after a refused event stream that said when to come back (its `retry`, in
 * ms): that delay plus a draw of up to half of it (spread as restartDelay spreads a
 * hint), at most the back-off's `maxMs`, and never shorter than `backoffMs`, the
 * back-off's own wait for this attempt (a server cannot bring a client back sooner
 * than the back-off would). Pure.
 */
export function refusedStreamDelay(
  retryMs: number,
  backoffMs: number,
  random: () => number,
  options: BackoffOptions = {},
): number {
  const max = options.maxMs ?? DEFAULT_MAX_MS;
  return Math.max(backoffMs, Math.min(restartDelay(retryMs, random), max));
}
