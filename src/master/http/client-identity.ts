import type { IncomingHttpHeaders } from 'node:http';
import { hostPort } from '../../shared/host-port';
import { canonicalAddress, clientAddress, type TrustedProxies } from './client-address';

/**
 * Who a WebSocket client is, as the logs, /status, its worker's title and an --exec
 * command's REMOTE_ADDR name it. Without a trusted proxy in between, the TCP peer; from a
 * peer listed in --trust-proxy, the client its X-Forwarded-For names (see
 * client-address.ts for which entry is believed). Pure: no I/O.
 */
export interface ClientIdentity {
  /** "ADDR:PORT" of a client seen directly; "ADDR" alone when a proxy named it (its port is not known). */
  remote: string;
  address: string;
  /** Undefined when a proxy named the client: the port we see is the proxy's. */
  port: number | undefined;
  /** "ADDR:PORT" of the trusted proxy the client came through, when one named it. */
  via: string | undefined;
  /** `https` when a trusted proxy says the client came over TLS. */
  proto: 'http' | 'https';
}

const NO_PROXIES: TrustedProxies = { entries: [], has: () => false };

export function identifyClient(
  peerAddress: string | undefined,
  peerPort: number | undefined,
  headers: IncomingHttpHeaders,
  trusted: TrustedProxies = NO_PROXIES,
): ClientIdentity {
  const peer = hostPort(peerAddress, peerPort);
  const { address, proto } = clientAddress(peerAddress, headers, trusted);
  const named =
    address !== undefined &&
    peerAddress !== undefined &&
    address !== canonicalAddress(peerAddress) &&
    trusted.has(peerAddress);
  if (!named) {
    return { remote: peer, address: peerAddress ?? '', port: peerPort, via: undefined, proto };
  }
  return { remote: address, address, port: undefined, via: peer, proto };
}
