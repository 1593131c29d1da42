import http from 'node:http';
import type { Socket } from 'node:net';
import type { HeaderPair } from '../../shared/config';
import type { RefusalCode } from '../../shared/protocol/reasons';
import type { Logger } from '../observability/logger';
import { drainThenClose } from './refuse-and-drain';

/** Extra response headers of a refusal (Allow, Retry-After, WWW-Authenticate, ...). */
export type RefusalHeaders = Record<string, string>;

/** One refusal: its status, its stable code (logs, /metrics), the text the client reads. */
export interface Refusal {
  status: number;
  code: RefusalCode;
  /** The plain-text body (no secret in it). */
  reason: string;
  headers?: RefusalHeaders;
}

/**
 * A complete plain-text HTTP response that closes the connection, for a socket that no
 * longer has Node's response object (an upgrade, a parse error, a timeout).
 */
export function refusalBytes(status: number, reason: string, headers: RefusalHeaders = {}): string {
  const body = `${reason}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The log line with ` [CODE]` at the end of its first line (a stack may follow). */
export function withCode(line: string, code: RefusalCode): string {
  const end = line.indexOf('\n');
  return end === -1 ? `${line} [${code}]` : `${line.slice(0, end)} [${code}]${line.slice(end)}`;
}

/** What is being refused: the connection, and the response object when Node made one. */
export interface RefusalTarget {
  socket: Socket;
  res?: http.ServerResponse;
  /** A request whose body may still be arriving: read and drop it before closing. */
  drain?: http.IncomingMessage;
  /** "ADDR:PORT METHOD URL" or "ADDR:PORT", for the log line. */
  describe: string;
}

/**
 * The one way a request is refused, before or at the upgrade: the status line from
 * http.STATUS_CODES, a short plain-text reason, `Connection: close`, one log line,
 * and the connection closed once the answer is flushed.
 */
export class Refusals {
  /** --header, --header-http: on every refusal too. */
  private extra: RefusalHeaders = {};

  constructor(
    private readonly logger: Logger,
    /** Told of every refusal, with its stable code (metrics count them). */
    private readonly onRefused: (status: number, code: RefusalCode) => void = () => undefined,
  ) {}

  /** Headers every refusal carries (before its own). */
  always(headers: readonly HeaderPair[]): this {
    this.extra = Object.fromEntries(headers);
    return this;
  }

  refuse(
    target: RefusalTarget,
    refusal: Refusal,
    /**
     * The log line when the default (`STATUS for WHO: REASON`) says less; null when the
     * caller logs (once per burst: see burst-log.ts). The code is appended: ` [CODE]`.
     */
    logLine: string | null = `${refusal.status} for ${target.describe}: ${refusal.reason}`,
  ): void {
    const { status, code, reason, headers } = refusal;
    if (logLine === null) {
      // logged by the caller
    } else if (status >= 500) this.logger.error(withCode(logLine, code));
    else this.logger.warn(withCode(logLine, code));
    this.onRefused(status, code);
    const { socket, res } = target;
    if (res !== undefined && !res.headersSent) {
      const text = `${reason}\n`;
      res.shouldKeepAlive = false;
      res.writeHead(status, {
        ...this.extra,
        'Content-Type': 'text/plain; charset=utf-8',
        // Draining, the response is never ended: its length says where it ends.
        ...(target.drain === undefined
          ? {}
          : { 'Content-Length': String(Buffer.byteLength(text)) }),
        Connection: 'close',
        ...headers,
      });
      if (target.drain === undefined) {
        res.end(text);
      } else {
        res.write(text);
        drainThenClose(target.drain);
      }
      return;
    }
    if (res !== undefined || !socket.writable) {
      // Headers already went out (or the peer is gone): nothing more can be said.
      socket.destroy();
      return;
    }
    socket.end(refusalBytes(status, reason, { ...this.extra, ...headers }));
    socket.destroySoon();
    // A peer that never reads must not hold the socket open.
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}
