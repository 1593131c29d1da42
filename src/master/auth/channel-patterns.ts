import { normaliseChannel } from '../../shared/channel-name';
import { fail, ok, type Result } from '../../shared/result';

/**
 * Channel patterns: what --private-channels names, and what a token's `channels` claim
 * (or --auth-url's `channels`) grants. Pure: no I/O.
 *
 * A pattern is a channel name whose segments may also be:
 * - `*`: exactly one segment, any name (`/user/*` matches `/user/42`, not `/user` nor
 *   `/user/42/inbox`);
 * - `**`, as the last segment only: one or more segments (`/team/7/**` matches
 *   `/team/7/a` and `/team/7/a/b`, not `/team/7`); `/**` alone matches every channel but `/`.
 * Anything else in a segment is literal (`*` inside a name, `/a*`, is not a wildcard:
 * the pattern is refused). Patterns are normalised as channels are (`/news/` is `/news`).
 */
export interface ChannelPattern {
  /** The pattern as written, normalised. */
  text: string;
  /** Its segments (none for `/`). */
  segments: readonly string[];
}

/** A stand-in segment, a valid channel segment, so the rest can be checked as a channel. */
const PLACEHOLDER = 'x';

/** The pattern of `text`, or why it is not one. */
export function parseChannelPattern(text: string): Result<ChannelPattern> {
  if (!text.startsWith('/')) return fail(`${JSON.stringify(text)} must start with "/"`);
  const raw = (/[^/]\/$/.test(text) ? text.slice(0, -1) : text).split('/').slice(1);
  if (raw.length === 1 && raw[0] === '') return ok({ text: '/', segments: [] });
  const doubleAt = raw.indexOf('**');
  if (doubleAt >= 0 && doubleAt !== raw.length - 1) {
    return fail(`${JSON.stringify(text)}: "**" may only be the last segment`);
  }
  const stand = raw.map((segment) => (segment === '*' || segment === '**' ? PLACEHOLDER : segment));
  const checked = normaliseChannel(`/${stand.join('/')}`);
  if (!checked.ok) {
    return fail(`${JSON.stringify(text)} is not a channel pattern: ${checked.error}`);
  }
  const segments = checked.value
    .slice(1)
    .split('/')
    .map((segment, index) => (stand[index] === PLACEHOLDER ? raw[index] : segment));
  return ok({ text: `/${segments.join('/')}`, segments });
}

/** True when `channel` (a normalised channel name) matches the pattern. */
export function matchesPattern(pattern: ChannelPattern, channel: string): boolean {
  const parts = channel === '/' ? [] : channel.slice(1).split('/');
  const { segments } = pattern;
  const rest = segments.length > 0 && segments[segments.length - 1] === '**';
  const fixed = rest ? segments.length - 1 : segments.length;
  if (rest ? parts.length <= fixed : parts.length !== fixed) return false;
  for (let i = 0; i < fixed; i++) {
    if (segments[i] !== '*' && segments[i] !== parts[i]) return false;
  }
  return true;
}

/** True when any of the patterns matches `channel`. */
export function matchesAny(patterns: readonly ChannelPattern[], channel: string): boolean {
  return patterns.some((pattern) => matchesPattern(pattern, channel));
}
