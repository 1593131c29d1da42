/**
 * "host:port" both ways, pure: parsing it as a Host header or an origin's authority has
 * it (the origin check in the master, an --exec command's SERVER_NAME/SERVER_PORT in a
 * worker), and formatting an address for logs and titles (the master).
 */

/** "host[:port]" split into its parts. */
export interface HostPort {
  /** As written, without IPv6 brackets ("::1", "Example.com"). */
  host: string;
  /** Digits as written; undefined when the text gave none (the scheme's default applies). */
  port?: string;
}

/**
 * Undefined when the text is not a host with an optional numeric port: empty host,
 * a bare IPv6 address without brackets ("::1:80" is ambiguous), a port that is not
 * 1 to 5 digits. An empty port ("host:") counts as none, as RFC 3986 allows.
 */
export function splitHostPort(text: string): HostPort | undefined {
  let host: string;
  let rest: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    host = text.slice(1, close);
    rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
  } else {
    const colon = text.indexOf(':');
    if (colon !== text.lastIndexOf(':')) return undefined;
    host = colon < 0 ? text : text.slice(0, colon);
    rest = colon < 0 ? '' : text.slice(colon);
  }
  if (host === '' || /[\s/?#@[\]]/.test(host)) return undefined;
  const port = rest.slice(1);
  if (port === '') return { host };
  if (!/^\d{1,5}$/.test(port)) return undefined;
  return { host, port };
}

/** "host:port", with IPv6 addresses in brackets as in URLs. */
export function hostPort(host: string | undefined, port: number | undefined): string {
  const name = host ?? '?';
  return `${name.includes(':') ? `[${name}]` : name}:${port ?? '?'}`;
}
