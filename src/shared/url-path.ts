import { fail, ok, type Result } from './result';

/**
 * Request-target arithmetic shared by the master (routing --dir, --staticdir) and the
 * worker (an --exec command's CGI variables). Pure: strings in, strings out.
 */

/** A request target ("/path?query") cut into its path and query, both as sent. */
export interface RequestTarget {
  path: string;
  /** What follows the first "?" (without it); "" when there is none. */
  query: string;
}

export function splitRequestTarget(target: string): RequestTarget {
  const question = target.indexOf('?');
  return question < 0
    ? { path: target, query: '' }
    : { path: target.slice(0, question), query: target.slice(question + 1) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Percent-decodes `text` as UTF-8. Undefined when an escape is malformed ("%4", "%zz")
 * or the bytes are not UTF-8: the caller decides whether that is a 400, a 404 or
 * "keep the raw text". A decoded NUL or "/" is returned as it is; callers that map
 * paths to files must refuse them (see decodePathSegments).
 */
export function percentDecode(text: string): string | undefined {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(char, 'utf8'));
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Cuts a raw URL path into decoded segments for mapping onto a directory, refusing what
 * could name a file other than the one it seems to: a malformed escape or non-UTF-8
 * bytes, a NUL, a "/" or "\" hidden in an escape (%2f, %5c), a "." or ".." segment, and
 * a hidden name (any segment starting with "."). Empty segments ("//") are dropped, as
 * a file system would. A failure (with its reason, for a log line) means: refuse the
 * request.
 */
export function decodePathSegments(rawPath: string): Result<string[]> {
  if (!rawPath.startsWith('/')) return fail('not an absolute path');
  const segments: string[] = [];
  for (const raw of rawPath.slice(1).split('/')) {
    if (raw === '') continue;
    const segment = percentDecode(raw);
    if (segment === undefined) return fail('bad escape or not UTF-8');
    if (/[\0/\\]/.test(segment)) return fail('NUL, "/" or "\\" in a segment');
    if (segment.startsWith('.')) return fail('dot segment or hidden name');
    segments.push(segment);
  }
  return ok(segments);
}
