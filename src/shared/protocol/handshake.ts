import { createHash } from 'node:crypto';
import { WEBSOCKET_GUID, WEBSOCKET_VERSION } from './constants';
import { checkOrigin } from './origin';
import { RefusalCode } from './reasons';

/**
 * The opening handshake checks (RFC 6455, section 4.2.1). Pure: a parsed request in,
 * a verdict out. Whatever parsed the HTTP, these rules are ours: header names are
 * case-insensitive (the caller gives them lower-cased), the Upgrade value is
 * case-insensitive, and Connection is a comma-separated list of tokens.
 */
export interface UpgradeRequest {
  method: string;
  /** "1.1", "1.0", ... */
  httpVersion: string;
  /** Header names in lower case; repeated headers joined with ", " (as Node does). */
  headers: Record<string, string | string[] | undefined>;
}

export interface Rejection {
  ok: false;
  status: number;
  code: RefusalCode;
  reason: string;
  headers?: Record<string, string>;
}

export type HandshakeVerdict = { ok: true; accept: string } | Rejection;

export interface HandshakePolicy {
  /** --origin: when non-empty, the origins accepted (`host`, `host:port`, `scheme://host[:port]`; see origin.ts). */
  allowedOrigins?: readonly string[];
  /** --same-origin: the Origin's host and port must be the Host header's. */
  sameOrigin?: boolean;
  /** The client came over TLS (via a trusted proxy): a Host without port means 443. */
  secure?: boolean;
}

export function computeAccept(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/** A header's value as one string: repeated headers joined with ", " (as Node does). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function header(request: UpgradeRequest, name: string): string | undefined {
  return headerValue(request.headers[name]);
}

function tokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token.length > 0);
}

/** A valid key is base64 that decodes to exactly 16 bytes (section 4.1, step 7). */
export function isValidKey(key: string | undefined): boolean {
  return key !== undefined && /^[A-Za-z0-9+/]{22}==$/.test(key.trim());
}

function reject(
  status: number,
  code: RefusalCode,
  reason: string,
  headers?: Record<string, string>,
): Rejection {
  return { ok: false, status, code, reason, headers };
}

export function checkUpgradeRequest(
  request: UpgradeRequest,
  policy: HandshakePolicy = {},
): HandshakeVerdict {
  if (request.method !== 'GET') {
    return reject(405, RefusalCode.MethodNotAllowed, 'WebSocket handshake must use GET', {
      Allow: 'GET',
    });
  }
  if (request.httpVersion !== '1.1') {
    return reject(400, RefusalCode.BadRequest, 'WebSocket handshake needs HTTP/1.1');
  }
  if (!header(request, 'host')) return reject(400, RefusalCode.BadRequest, 'Missing Host header');
  if (!tokens(header(request, 'upgrade')).includes('websocket')) {
    return reject(400, RefusalCode.BadRequest, 'Upgrade header must be "websocket"');
  }
  if (!tokens(header(request, 'connection')).includes('upgrade')) {
    return reject(400, RefusalCode.BadRequest, 'Connection header must include "Upgrade"');
  }
  const version = header(request, 'sec-websocket-version');
  if (version?.trim() !== WEBSOCKET_VERSION) {
    return reject(
      426,
      RefusalCode.UpgradeRequired,
      'Unsupported WebSocket version; this server speaks 13',
      {
        'Sec-WebSocket-Version': WEBSOCKET_VERSION,
      },
    );
  }
  const key = header(request, 'sec-websocket-key');
  if (!isValidKey(key))
    return reject(400, RefusalCode.BadRequest, 'Sec-WebSocket-Key must be base64 of 16 bytes');

  const origin = checkOrigin(header(request, 'origin'), header(request, 'host'), {
    allowed: policy.allowedOrigins,
    sameOrigin: policy.sameOrigin,
    secure: policy.secure,
  });
  if (!origin.ok) return reject(403, RefusalCode.OriginNotAllowed, origin.reason);
  return { ok: true, accept: computeAccept((key as string).trim()) };
}

/**
 * The 101 response completing the handshake; `extra` headers (--header, --header-ws,
 * validated at start-up) follow ours.
 */
export function upgradeResponse(
  accept: string,
  extra: readonly (readonly [string, string])[] = [],
): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n` +
    extra.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
    '\r\n'
  );
}
