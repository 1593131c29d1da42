import { exponentialDelay } from '../backoff';

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
  // Attempts past 31 are the 31st (the exponent stays at most 30).
  const clamped = Math.min(Math.max(attempt, 1), 31);
  const ceiling = exponentialDelay(clamped, options.baseMs, options.maxMs);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
