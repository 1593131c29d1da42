import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * Who a client really is when the server sits behind reverse proxies (`--trust-proxy`).
 *
 * Behind nginx every TCP peer is the proxy, so logs, /status and per-client limits would
 * all name the proxy. Proxies tell the real client in `X-Forwarded-For` and the scheme it
 * used in `X-Forwarded-Proto`; but anyone can send those headers, so they are believed
 * only when the TCP peer is a proxy the operator listed. Pure: no I/O.
 */

/** A `--trust-proxy` entry that is not an IP address or CIDR block. */
export class TrustProxyError extends Error {}

/** The proxies whose forwarding headers are believed. */
export interface TrustedProxies {
  /** The entries in canonical form (IPv4-mapped IPv6 written as IPv4), for /status and logs. */
  readonly entries: readonly string[];
  /** Whether an address (any form `canonicalAddress` accepts) is one of the proxies. */
  has(address: string): boolean;
}

/** The address and scheme a client connected with, as far as the trusted proxies tell. */
export interface ClientAddress {
  /** The client's IP address (the TCP peer's when no trusted proxy speaks for it). */
  address: string | undefined;
  /** `https` only when a trusted proxy says the client came over TLS. */
  proto: 'http' | 'https';
}

const MAPPED_DOTTED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/** `::ffff:a.b.c.d` (or its hex form `::ffff:xxxx:yyyy`) as `a.b.c.d`; others unchanged. */
function unmapped(address: string): string {
  const dotted = MAPPED_DOTTED.exec(address);
  if (dotted !== null) return dotted[1];
  const hex = MAPPED_HEX.exec(address);
  if (hex === null) return address;
  const high = parseInt(hex[1], 16);
  const low = parseInt(hex[2], 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * An address as proxies and sockets write it, in canonical form, or undefined when it
 * is not an IP address. Accepts `1.2.3.4`, `1.2.3.4:5678` (some proxies add the port),
 * `::1`, `[::1]`, `[::1]:5678`, a zone (`fe80::1%eth0`, dropped) and IPv4-mapped IPv6
 * (written as IPv4, so that `::ffff:10.0.0.1` and `10.0.0.1` are the same client).
 */
export function canonicalAddress(text: string): string | undefined {
  let address = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(address);
  if (bracketed !== null) address = bracketed[1];
  else if (/^[\d.]+:\d{1,5}$/.test(address)) address = address.slice(0, address.indexOf(':'));
  address = address.replace(/%[\w.-]+$/, '');
  const family = isIP(address);
  if (family === 0) return undefined;
  return family === 4 ? address : unmapped(address.toLowerCase());
}

class ProxyList implements TrustedProxies {
  readonly entries: string[] = [];
  private readonly list = new BlockList();

  add(entry: string): void {
    const match = /^([^/]+?)(?:\/(\d{1,3}))?$/.exec(entry);
    const raw = match?.[1] ?? '';
    const family = isIP(raw);
    if (family === 0) {
      throw new TrustProxyError(
        `--trust-proxy: "${entry}" is not an IP address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8)`,
      );
    }
    const max = family === 4 ? 32 : 128;
    let prefix = match?.[2] === undefined ? max : Number(match[2]);
    if (prefix > max) {
      throw new TrustProxyError(
        `--trust-proxy: "${entry}" has a prefix over /${max} for an IPv${family} address`,
      );
    }
    let address = family === 4 ? raw : raw.toLowerCase();
    let type: 'ipv4' | 'ipv6' = family === 4 ? 'ipv4' : 'ipv6';
    // An IPv4-mapped block (::ffff:a.b.c.d/96 and narrower) is the IPv4 block it maps.
    const mapped = family === 6 ? unmapped(address) : address;
    if (mapped !== address && prefix >= 96) {
      address = mapped;
      prefix -= 96;
      type = 'ipv4';
    }
    const full = type === 'ipv4' ? 32 : 128;
    if (prefix === full) this.list.addAddress(address, type);
    else this.list.addSubnet(address, prefix, type);
    this.entries.push(prefix === full ? address : `${address}/${prefix}`);
  }

  has(address: string): boolean {
    const canonical = canonicalAddress(address);
    if (canonical === undefined) return false;
    return this.list.check(canonical, isIP(canonical) === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * Parses `--trust-proxy` values: each one or more entries separated by commas (the flag
 * may also be repeated), each an IPv4/IPv6 address or a CIDR block. Throws
 * TrustProxyError naming the first bad entry. No values: no proxy is trusted.
 */
export function parseTrustProxy(values: string | readonly string[]): TrustedProxies {
  const proxies = new ProxyList();
  for (const value of typeof values === 'string' ? [values] : values) {
    for (const entry of value.split(',')) {
      const trimmed = entry.trim();
      if (trimmed === '') {
        throw new TrustProxyError(`--trust-proxy: empty entry in "${value}"`);
      }
      proxies.add(trimmed);
    }
  }
  return proxies;
}

/** One header's values as a list: repeated headers may arrive joined by commas or as an array. */
function listHeader(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value.join(',') : value).split(',').map((item) => item.trim());
}

/** The scheme the nearest proxy saw: the right-most `X-Forwarded-Proto` entry, if it is one we know. */
function forwardedProto(value: string | string[] | undefined): 'http' | 'https' {
  const last = listHeader(value).pop()?.toLowerCase();
  return last === 'https' || last === 'wss' ? 'https' : 'http';
}

/**
 * The client's address and scheme.
 *
 * When the TCP peer is not a trusted proxy, the forwarding headers are ignored (anyone
 * can write them): the address is the peer's, the scheme `http` (the server itself
 * speaks no TLS).
 *
 * When the peer is trusted, `X-Forwarded-For` is read from the right. Each proxy appends
 * the address it was connected from (nginx's `$proxy_add_x_forwarded_for`), so the
 * right-most entries were written by our own proxies and can be believed, while
 * everything to the left of the first untrusted address was written by that untrusted
 * party (a client can send `X-Forwarded-For: 1.2.3.4` to pose as someone else). So the
 * client is the right-most address that is not itself a trusted proxy: what nginx's
 * realip module does with `real_ip_recursive on`, and Express's `trust proxy` with a
 * list. If every entry is trusted, the left-most one is the furthest known. An entry that
 * is not an address (`unknown`, garbage) stops the walk at the last address verified.
 *
 * The scheme is the right-most `X-Forwarded-Proto` entry (the one the nearest trusted
 * proxy wrote: nginx sets it, replacing any the client sent), `https` or `http`.
 * The RFC 7239 `Forwarded` header is not read.
 */
export function clientAddress(
  peerAddress: string | undefined,
  headers: IncomingHttpHeaders,
  trusted: TrustedProxies,
): ClientAddress {
  if (peerAddress === undefined || !trusted.has(peerAddress)) {
    return { address: peerAddress, proto: 'http' };
  }
  let address = canonicalAddress(peerAddress) as string;
  const chain = listHeader(headers['x-forwarded-for']);
  for (let index = chain.length - 1; index >= 0; index -= 1) {
    const hop = canonicalAddress(chain[index]);
    if (hop === undefined) break;
    address = hop;
    if (!trusted.has(hop)) break;
  }
  return { address, proto: forwardedProto(headers['x-forwarded-proto']) };
}
