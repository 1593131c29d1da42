import type { ChannelPattern } from './channel-patterns';
import { fail, ok, type Result } from '../../shared/result';
import { parseChannelPattern } from './channel-patterns';

/** Who a connection is, once a token or --auth-url vouched for it. */
export interface Identity {
  /** The user id (a token's `sub`, --auth-url's `user`). */
  user: string;
  /** What vouched for it, for a command's PUSH_WS_CLAIMS: never the token itself. */
  claims: Record<string, unknown>;
  /** The channel patterns it may subscribe to among the private ones. */
  grants: readonly ChannelPattern[];
  /** When its admission ends (ms since the epoch); undefined: never. */
  expiresAt: number | undefined;
}

/** Longest user id taken (it goes into logs, /status and a command's environment). */
export const MAX_USER_CHARS = 256;

/** Most channel patterns one identity may carry. */
export const MAX_GRANTS = 256;

/**
 * A user id as a token or --auth-url gives it: a non-empty string (a number is taken as
 * its decimal text), at most MAX_USER_CHARS; undefined when it is not one.
 */
export function userOf(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || text === '' || text.length > MAX_USER_CHARS) return undefined;
  return text;
}

/**
 * The `channels` list of a token or an --auth-url answer as patterns (absent: none), or
 * why it is not one: it must be an array of pattern strings (channel-patterns.ts).
 */
export function grantsOf(value: unknown): Result<ChannelPattern[]> {
  if (value === undefined || value === null) return ok([]);
  if (!Array.isArray(value) || value.length > MAX_GRANTS) {
    return fail(`channels must be a list of at most ${MAX_GRANTS} patterns`);
  }
  const grants: ChannelPattern[] = [];
  for (const entry of value) {
    if (typeof entry !== 'string') return fail('channels must hold strings');
    const pattern = parseChannelPattern(entry);
    if (!pattern.ok) return fail('channels holds a bad pattern');
    grants.push(pattern.value);
  }
  return ok(grants);
}
