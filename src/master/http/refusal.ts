import http from 'node:http';
import type { Socket } from 'node:net';
import type { HeaderPair } from '../../shared/config';
import type { RefusalCode } from '../../shared/protocol/reasons';
import type { Logger } from '../observability/logger';
import { sseRefusalBody } from '../../shared/protocol/sse';
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
  return responseBytes(
    status,
    [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', String(Buffer.byteLength(body))],
      ['Connection', 'close'],
      ...Object.entries(headers),
    ],
    body,
  );
}

/** A whole HTTP/1.1 response as bytes to write on a socket without Node's response object. */
function responseBytes(status: number, headers: [string, string][], body: string): string {
  const lines = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`,
    ...headers.map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Writes a whole response and closes; a peer that never reads must not hold the socket. */
function endWith(socket: Socket, bytes: string): void {
  socket.end(bytes);
  socket.destroySoon();
  setTimeout(() => socket.destroy(), 1000).unref();
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
  /** An event-stream (SSE) request: a refusal worth retrying is answered as a stream. */
  eventStream?: boolean;
}

/** Shortest reconnect delay a refused stream asks for (a Retry-After of 0 included). */
export const MIN_STREAM_RETRY_MS = 250;

/**
 * The hazard: a browser's EventSource never retries after an answer that is not 200, so
 * a 503 or 429 (server full, no worker yet, a server still starting, history unreadable)
 * would end it for good although the answer says "come back". Such a refusal, when it
 * carries a Retry-After, is answered as a short 200 stream: `retry:` that delay and one
 * `refused` event (status, code, reason), then the end; the browser reconnects after the
 * delay with its Last-Event-ID. It carries no `hello`, so a client that waits for one
 * (the client library) does not take it for a connection. Other refusals (400, 401,
 * 403, 404, ...) stay HTTP errors: coming back would not help. Undefined: not retryable.
 */
export function streamRetryMs(refusal: Refusal): number | undefined {
  if (refusal.status !== 503 && refusal.status !== 429) return undefined;
  const after = refusal.headers?.['Retry-After'];
  if (after === undefined || !/^\d+$/.test(after.trim())) return undefined;
  return Math.max(MIN_STREAM_RETRY_MS, Number(after) * 1000);
}

/** The head of a refused stream (it carries the refusal's own headers too: Retry-After). */
export const REFUSED_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
  Connection: 'close',
};

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
    const retryMs = target.eventStream === true ? streamRetryMs(refusal) : undefined;
    if (retryMs !== undefined && (res === undefined ? socket.writable : !res.headersSent)) {
      const body = sseRefusalBody({ status, code, reason, retryMs });
      const head = { ...this.extra, ...REFUSED_STREAM_HEADERS, ...headers };
      if (res !== undefined) {
        res.shouldKeepAlive = false;
        res.writeHead(200, head);
        res.end(body);
        return;
      }
      endWith(socket, responseBytes(200, Object.entries(head), body));
      return;
    }
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
    endWith(socket, refusalBytes(status, reason, { ...this.extra, ...headers }));
  }
}
