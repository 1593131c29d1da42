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

/** The delay before reconnect attempt `attempt` (1 for the first). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
