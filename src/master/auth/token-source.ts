import type { IncomingHttpHeaders } from 'node:http';

/**
 * Where a connection's token is, and how it is kept out of everything else (logs, a
 * command's environment). Pure: no I/O.
 *
 * A token comes as the `token` query parameter (browsers cannot set headers on a
 * WebSocket), as `Authorization: Bearer TOKEN`, or in the cookie --auth-cookie names;
 * in that order when a request has more than one.
 */
export const TOKEN_PARAMETER = 'token';

/** What log lines show instead of a secret. */
export const REDACTED = '[redacted]';

export type TokenPlace = 'query' | 'header' | 'cookie';

export interface FoundToken {
  token: string;
  from: TokenPlace;
}

/** `name=value` pairs of a raw query string, split on `&`; `+` is a space in names. */
function queryName(pair: string): string {
  const name = pair.split('=', 1)[0].replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** The raw request target split at its query: [path, query or undefined, fragment]. */
function splitTarget(target: string): [string, string | undefined, string] {
  const hash = target.indexOf('#');
  const fragment = hash < 0 ? '' : target.slice(hash);
  const rest = hash < 0 ? target : target.slice(0, hash);
  const question = rest.indexOf('?');
  if (question < 0) return [rest, undefined, fragment];
  return [rest.slice(0, question), rest.slice(question + 1), fragment];
}

/** The target with each token parameter rewritten (`keep`) or dropped (undefined). */
function rewriteToken(target: string, keep: ((pair: string) => string) | undefined): string {
  const [path, query, fragment] = splitTarget(target);
  if (query === undefined) return target;
  const pairs = query.split('&');
  if (!pairs.some((pair) => queryName(pair) === TOKEN_PARAMETER)) return target;
  const kept: string[] = [];
  for (const pair of pairs) {
    if (queryName(pair) !== TOKEN_PARAMETER) kept.push(pair);
    else if (keep !== undefined) kept.push(keep(pair));
  }
  return kept.length === 0 ? `${path}${fragment}` : `${path}?${kept.join('&')}${fragment}`;
}

/** The request target as log lines show it: every `token` parameter's value redacted. */
export function redactTarget(target: string): string {
  return rewriteToken(target, (pair) => `${pair.split('=', 1)[0]}=${REDACTED}`);
}

/** The request target without its `token` parameters (a command's REQUEST_URI). */
export function withoutToken(target: string): string {
  return rewriteToken(target, undefined);
}

/** Request headers that carry secrets: their values never reach a log line. */
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** The headers as a log line shows them: values of Authorization and Cookie redacted. */
export function redactHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const shown: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    shown[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : value;
  }
  return shown;
}

/** The value of cookie `name` in a Cookie header (RFC 6265 `a=b; c=d`), if any. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals < 0 || part.slice(0, equals).trim() !== name) continue;
    const value = part.slice(equals + 1).trim();
    return value.startsWith('"') && value.endsWith('"') && value.length >= 2
      ? value.slice(1, -1)
      : value;
  }
  return undefined;
}

/** A Cookie header without cookie `name` (undefined when nothing is left). */
export function withoutCookie(header: string, name: string): string | undefined {
  const kept = header
    .split(';')
    .filter((part) => part.split('=', 1)[0].trim() !== name)
    .map((part) => part.trim())
    .filter(Boolean);
  return kept.length === 0 ? undefined : kept.join('; ');
}

/** The token a request carries, and where; undefined when it has none. */
export function findToken(
  target: string,
  headers: IncomingHttpHeaders,
  cookieName: string | undefined,
): FoundToken | undefined {
  const [, query] = splitTarget(target);
  if (query !== undefined) {
    const value = new URLSearchParams(query).get(TOKEN_PARAMETER);
    if (value !== null && value !== '') return { token: value, from: 'query' };
  }
  const bearer = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '');
  if (bearer !== null) return { token: bearer[1], from: 'header' };
  if (cookieName !== undefined) {
    const cookie = cookieValue(headers.cookie, cookieName);
    if (cookie !== undefined && cookie !== '') return { token: cookie, from: 'cookie' };
  }
  return undefined;
}
