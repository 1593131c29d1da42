/**
 * A client's channel is the path of the URL it connected to, normalised so that one
 * channel has exactly one name (`/news` and `/news/` are the same channel; `/` is the
 * root channel). Pure: no I/O.
 *
 * The rule (what `normaliseChannel` accepts):
 * - The input is the path only (the part before `?`); it must start with `/`.
 * - Percent-decoding: only the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`)
 *   may be percent-encoded, and they are decoded (`%7Enews` is `/~news`; hex digits in
 *   either case). Any other percent-encoded byte, `%2F` included, is refused: it would
 *   either be a character a channel may not hold or a `/` that is not a separator.
 *   A `%` not followed by two hex digits is refused.
 * - After decoding, a single trailing `/` after a segment is dropped (`/news/` is `/news`;
 *   `//` and `/news//` are refused as empty segments).
 * - What remains is `/`, or `/` followed by segments separated by single `/`; a segment
 *   is one or more of `A-Z a-z 0-9 - . _ ~` and is neither `.` nor `..`.
 *   So no empty segment (`//`), no dot segments, no other characters.
 * - At most 128 bytes after normalising (the characters are ASCII: bytes = characters).
 * - Case is kept: `/News` and `/news` are two channels, as paths are case-sensitive.
 */

import { fail, ok, type Result } from './result';

/** The longest channel name, in bytes, after normalising. */
export const MAX_CHANNEL_BYTES = 128;

/**
 * The reserved channel of broadcasts to every client on every instance. It can never be
 * a client's channel (a client's channel starts with `/`), and brokers always deliver it.
 */
export const BROADCAST_CHANNEL = '*';

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** Decodes `%XX` of unreserved characters; refuses every other escape. */
function percentDecode(path: string): Result<string> {
  let out = '';
  for (let i = 0; i < path.length; i += 1) {
    const char = path[i];
    if (char !== '%') {
      out += char;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
      return fail(`bad percent-encoding at "${path.slice(i, i + 3)}"`);
    }
    const decoded = String.fromCharCode(parseInt(hex, 16));
    if (!UNRESERVED.test(decoded)) {
      return fail(
        `percent-encoded "%${hex.toUpperCase()}" is not allowed in a channel (only A-Z a-z 0-9 - . _ ~ may be encoded)`,
      );
    }
    out += decoded;
    i += 2;
  }
  return ok(out);
}

/** The channel of a URL path, or the reason it is not one. */
export function normaliseChannel(path: string): Result<string> {
  if (!path.startsWith('/')) return fail('a channel path must start with "/"');
  const decodedOk = percentDecode(path);
  if (!decodedOk.ok) return decodedOk;
  const decoded = decodedOk.value;
  // One trailing slash goes; `//` or `/a//` keep theirs and fail as empty segments.
  const name = /[^/]\/$/.test(decoded) ? decoded.slice(0, -1) : decoded;
  if (name.length > MAX_CHANNEL_BYTES) {
    return fail(`channel longer than ${MAX_CHANNEL_BYTES} bytes`);
  }
  if (name === '/') return ok(name);
  for (const segment of name.slice(1).split('/')) {
    if (segment === '') return fail('empty segment ("//") in channel path');
    if (segment === '.' || segment === '..') {
      return fail('segments "." and ".." are not allowed in a channel path');
    }
    if (!SEGMENT.test(segment)) {
      const bad = [...segment].find((char) => !UNRESERVED.test(char)) as string;
      return fail(
        `character ${JSON.stringify(bad)} not allowed in a channel (allowed: A-Z a-z 0-9 - . _ ~ and "/" between segments)`,
      );
    }
  }
  return ok(name);
}

/** True for a name `normaliseChannel` returns as it is (a client's channel). */
export function isChannelName(name: string): boolean {
  const normal = normaliseChannel(name);
  return normal.ok && normal.value === name;
}

/** A client's channel or the broadcast channel: what a broker accepts. */
export function isBrokerChannel(name: string): boolean {
  return name === BROADCAST_CHANNEL || isChannelName(name);
}
