import { splitHostPort } from '../host-port';

/**
 * The Origin checks of websocketd's --origin and --sameorigin (libwebsocketd/http.go,
 * checkOrigin), pure. A browser sends Origin on every WebSocket handshake; these checks
 * stop other sites' pages from opening connections with the user's cookies. They are
 * not a defence against non-browser clients, which can send any Origin.
 *
 * The rules, as websocketd 0.4.1 applies them (checked against the binary):
 * - An --origin entry is `host`, `host:port` or `scheme://host[:port]`. An entry
 *   without a port matches any port; one with a port matches only that port. An entry
 *   with a scheme matches only Origins of that scheme ("https://a.test" refuses
 *   "http://a.test"); one without matches any scheme.
 * - The Origin's port, when it has none, is its scheme's default: 443 for https (and
 *   wss), else 80. The Host's, for --same-origin, is 80 (443 when the server is reached
 *   over TLS).
 * - --same-origin: the Origin's host and port must equal the Host header's. With both
 *   flags, both must hold.
 * - With either flag on, a handshake without Origin, with "null" (sandboxed pages,
 *   file: URLs) or with one that is not scheme://host[:port] is refused.
 *
 * Where we differ, on purpose: host names compare case-insensitively (DNS names are;
 * browsers send them lower-cased, so websocketd's --origin Example.com never matched a
 * browser), and "[::1]" matches "[::1]:port" (websocketd kept the brackets only when
 * there was no port, so such entries never matched).
 */

export interface OriginRule {
  /** Lower-cased; undefined: any scheme. */
  scheme?: string;
  /** Lower-cased, without IPv6 brackets. */
  host: string;
  /** Undefined: any port. */
  port?: string;
}

export interface OriginPolicy {
  /** --origin entries; empty or undefined: any origin (unless sameOrigin). */
  allowed?: readonly string[];
  /** --same-origin. */
  sameOrigin?: boolean;
  /** The client reached the server over TLS (a trusted proxy says so): Host defaults to 443. */
  secure?: boolean;
}

export type OriginVerdict = { ok: true } | { ok: false; reason: string };

interface Endpoint {
  scheme: string;
  host: string;
  port: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;

function defaultPort(scheme: string): string {
  return scheme === 'https' || scheme === 'wss' ? '443' : '80';
}

/**
 * Parses one --origin entry; undefined when it is none of `host`, `host:port`,
 * `scheme://host[:port]` (a trailing "/" is allowed). The CLI should refuse such an
 * entry at start-up; checkOrigin ignores it.
 */
export function parseOriginRule(entry: string): OriginRule | undefined {
  const match = SCHEME.exec(entry.trim());
  const scheme = match?.[1].toLowerCase();
  const authority = (match === null ? entry.trim() : match[2]).replace(/\/$/, '');
  const parts = splitHostPort(authority);
  if (parts === undefined) return undefined;
  return { scheme, host: parts.host.toLowerCase(), port: parts.port };
}

/** The Origin header as scheme, host and port; undefined for "null" or anything else. */
export function parseOrigin(origin: string): Endpoint | undefined {
  const match = SCHEME.exec(origin.trim());
  if (match === null) return undefined;
  const scheme = match[1].toLowerCase();
  const parts = splitHostPort(match[2].replace(/\/$/, ''));
  if (parts === undefined) return undefined;
  return { scheme, host: parts.host.toLowerCase(), port: parts.port ?? defaultPort(scheme) };
}

export function ruleMatches(rule: OriginRule, origin: Endpoint): boolean {
  return (
    (rule.scheme === undefined || rule.scheme === origin.scheme) &&
    rule.host === origin.host &&
    (rule.port === undefined || rule.port === origin.port)
  );
}

/** The --origin entries, parsed once per list (the server's list is the same every handshake). */
const parsedLists = new WeakMap<readonly string[], (OriginRule | undefined)[]>();

function rulesOf(allowed: readonly string[]): (OriginRule | undefined)[] {
  let rules = parsedLists.get(allowed);
  if (rules === undefined) {
    rules = allowed.map(parseOriginRule);
    parsedLists.set(allowed, rules);
  }
  return rules;
}

/**
 * The verdict on a handshake's Origin header (`origin`) given its Host header (`host`).
 * The reason is for the log and the 403 body.
 */
export function checkOrigin(
  origin: string | undefined,
  host: string | undefined,
  policy: OriginPolicy,
): OriginVerdict {
  const allowed = policy.allowed ?? [];
  if (allowed.length === 0 && policy.sameOrigin !== true) return { ok: true };
  if (origin === undefined || origin.trim() === '') {
    return { ok: false, reason: 'Origin header required' };
  }
  const parsed = parseOrigin(origin);
  if (parsed === undefined) return { ok: false, reason: 'Origin not allowed' };
  if (policy.sameOrigin === true) {
    const local = host === undefined ? undefined : splitHostPort(host.trim());
    const localPort = local?.port ?? (policy.secure === true ? '443' : '80');
    if (
      local === undefined ||
      local.host.toLowerCase() !== parsed.host ||
      localPort !== parsed.port
    ) {
      return { ok: false, reason: 'Origin does not match Host' };
    }
  }
  if (allowed.length > 0) {
    const rules = rulesOf(allowed);
    if (!rules.some((rule) => rule !== undefined && ruleMatches(rule, parsed))) {
      return { ok: false, reason: 'Origin not allowed' };
    }
  }
  return { ok: true };
}
