/**
 * --header, --header-ws, --header-http: headers an operator adds to responses, as
 * websocketd's flags of those names (Server, CSP, HSTS...). Pure: flag text in, header
 * pairs out. A bad value is refused at start-up, with the flag named, rather than sent:
 * no line breaks (a header could be smuggled in), a valid name, and none of the
 * headers that frame the response or complete the handshake, which are ours to set.
 */
import type { HeaderPair, ResponseHeaders } from '../../shared/config';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Set by the server itself; an operator's copy would break framing or the handshake. */
const RESERVED = new Set([
  'connection',
  'content-length',
  'transfer-encoding',
  'upgrade',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-websocket-version',
]);

/** "x-frame-options" → "X-Frame-Options", as websocketd (Go) writes names. */
export function canonicalHeaderName(name: string): string {
  return name
    .toLowerCase()
    .replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());
}

/**
 * One flag value, "Name: value", as a header pair; throws an Error naming `flag` when
 * it is not one we may send.
 */
export function parseHeaderFlag(text: string, flag = '--header'): HeaderPair {
  const colon = text.indexOf(':');
  if (colon < 0) throw new Error(`${flag} "${text}": expected "Name: value"`);
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  if (!TOKEN.test(name)) throw new Error(`${flag} "${text}": "${name}" is not a header name`);
  if (/[\r\n\0]/.test(value)) throw new Error(`${flag} ${name}: the value has a line break or NUL`);
  if (RESERVED.has(name.toLowerCase())) {
    throw new Error(`${flag} ${name}: the server sets this header itself`);
  }
  return [canonicalHeaderName(name), value];
}

/** The three flags' values parsed; throws on the first bad one. */
export function parseExtraHeaders(flags: {
  header?: readonly string[];
  headerWs?: readonly string[];
  headerHttp?: readonly string[];
}): ResponseHeaders {
  return {
    all: (flags.header ?? []).map((text) => parseHeaderFlag(text, '--header')),
    ws: (flags.headerWs ?? []).map((text) => parseHeaderFlag(text, '--header-ws')),
    http: (flags.headerHttp ?? []).map((text) => parseHeaderFlag(text, '--header-http')),
  };
}

/** For the 101 of a successful upgrade: --header, then --header-ws. */
export function upgradeHeaders(extra: ResponseHeaders): HeaderPair[] {
  return [...extra.all, ...extra.ws];
}

/**
 * For every other response: pages, /status, errors, and (unlike websocketd, which adds
 * none there) the error answering a refused upgrade. --header, then --header-http.
 * websocketd 0.4.1 added --header to 101s only; its newer sources, like us, to all.
 */
export function httpHeaders(extra: ResponseHeaders): HeaderPair[] {
  return [...extra.all, ...extra.http];
}
