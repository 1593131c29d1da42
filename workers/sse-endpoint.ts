import type { Socket } from 'node:net';
import { CloseCode } from '../src/shared/protocol/constants';
import { unmaskedFrameLength } from '../src/shared/protocol/frame';
import {
  encodeSseEvent,
  httpChunk,
  LAST_CHUNK,
  sseComment,
  sseHello,
  sseEventId,
  sseResponseHead,
  sseRetry,
} from '../src/shared/protocol/sse';
import type { ClientEndpoint, MessageKind } from './client-endpoint';
import type { CloseInfo, WebSocketEndpointEvents } from './websocket-endpoint';

export interface SseEndpointOptions {
  /** Milliseconds between keepalive comments (--ping-interval); 0: none. */
  pingIntervalMs: number;
  /** High-water mark of the send buffer (--max-buffered). */
  maxBuffered: number;
  /** How long the send buffer may stay over the mark before the client is ended. */
  overBufferedMs: number;
  /** HTTP/1.1: a chunked body; HTTP/1.0: the body ends with the connection. */
  chunked: boolean;
  /** Headers the master chose (CORS, --header, --header-http). */
  headers: readonly (readonly [string, string])[];
  /** The browser's reconnect delay (`retry:`). */
  retryMs: number;
  /** The client's id, in the `hello` event that starts every stream. */
  clientId: number;
  /** How long to wait for the peer to close after the body ended. */
  closeTimeoutMs?: number;
}

/** A browser's reconnect delay after the stream ends or breaks (`retry:`). */
export const SSE_RETRY_MS = 2000;

/** Bytes of a server frame's header (2, 4 or 10), from its length byte. */
function headerLength(frames: Buffer, offset: number): number {
  const short = frames[offset + 1] & 0x7f;
  return short < 126 ? 2 : short === 126 ? 4 : 10;
}

/**
 * An event-stream (SSE) client: the worker writes the response head, a `retry:`, the
 * `hello` event, then every message as an event, and a comment every --ping-interval so that proxies with
 * an idle timeout (nginx's 60 s) keep the connection. The client says nothing after its
 * request: whatever it sends is ignored, and it leaves by closing the connection.
 * Publications arrive framed by the master (an SSE event inside a text frame): the
 * event is taken out of its frame and written as it is.
 */
export class SseEndpoint implements ClientEndpoint {
  private closing = false;
  private closed = false;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private overTimer: NodeJS.Timeout | undefined;
  private events_ = 0;
  private ending: CloseInfo | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly options: SseEndpointOptions,
    private readonly events: WebSocketEndpointEvents,
  ) {}

  start(_head: Buffer): void {
    const { socket, options } = this;
    socket.setNoDelay(true);
    // Nothing is read from an event-stream client; reading still tells us it left.
    socket.on('data', () => undefined);
    socket.on('error', (error) => this.events.onLog('debug', `socket error: ${error.message}`));
    socket.on('close', () => this.onSocketClose());
    socket.on('drain', () => this.onDrained());
    socket.write(sseResponseHead({ chunked: options.chunked, extra: options.headers }));
    // The hello says "served" (a refused stream opens too, then says `refused`).
    this.write(Buffer.from(sseRetry(options.retryMs) + sseHello(options.clientId)));
    if (options.pingIntervalMs > 0) {
      this.keepAliveTimer = setInterval(() => this.keepAlive(), options.pingIntervalMs);
    }
  }

  get isOpen(): boolean {
    return !this.closing && !this.closed;
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  onDrain(listener: () => void): void {
    this.socket.on('drain', listener);
  }

  sendText(text: string, kind: MessageKind = { event: 'push' }): boolean {
    const { event, position } = kind;
    const id = position === undefined ? undefined : sseEventId(position);
    return this.sendData(Buffer.from(encodeSseEvent({ event, id, data: text })));
  }

  /** --binary: an event-stream carries text only, so the bytes go as base64. */
  sendBinary(data: Buffer): boolean {
    const json = JSON.stringify({ type: 'binary', data: data.toString('base64') });
    return this.sendData(Buffer.from(encodeSseEvent({ event: 'binary', data: json })));
  }

  sendFrames(frames: Buffer, count: number): boolean {
    // None (the wake record's rehearsal): an empty chunk would end a chunked body.
    if (!this.isOpen || frames.length === 0) return false;
    const events: Buffer[] = [];
    for (let offset = 0; offset < frames.length;) {
      const length = unmaskedFrameLength(frames, offset, frames.length);
      if (length < 0 || offset + length > frames.length) break; // the splitter gives whole frames
      events.push(frames.subarray(offset + headerLength(frames, offset), offset + length));
      offset += length;
    }
    this.events_ += count;
    return this.write(events.length === 1 ? events[0] : Buffer.concat(events));
  }

  get framesSent(): number {
    return this.events_;
  }

  /**
   * Ends the stream: a `close` event saying why (an event stream has no close code of
   * its own; a browser reconnects after `retry:` whatever it says), the body's end,
   * then the connection's, destroyed if the peer does not close within the timeout.
   */
  close(code: number | undefined, reason = ''): void {
    if (this.closed) return;
    clearTimeout(this.overTimer);
    if (!this.closing) {
      this.ending ??= { code, side: 'server' };
      this.closing = true;
      const data = JSON.stringify({ type: 'close', code, reason });
      this.write(Buffer.from(encodeSseEvent({ event: 'close', data })));
      if (this.options.chunked) this.socket.end(LAST_CHUNK);
      else this.socket.end();
    }
    this.closeTimer ??= setTimeout(
      () => this.socket.destroy(),
      this.options.closeTimeoutMs ?? 1000,
    );
  }

  private sendData(event: Buffer): boolean {
    if (!this.isOpen) return false;
    this.events_++;
    return this.write(event);
  }

  /**
   * Every byte of the body goes out here (as a chunk with HTTP/1.1), so every write
   * counts against --max-buffered. A client that stays over the mark for
   * `overBufferedMs` is not reading: its stream is ended. True when over.
   */
  private write(body: Buffer): boolean {
    if (this.closed || body.length === 0) return false;
    if (this.options.chunked) this.socket.cork();
    for (const part of this.options.chunked ? httpChunk(body) : [body]) this.socket.write(part);
    if (this.options.chunked) this.socket.uncork();
    this.events.onActivity?.();
    if (this.socket.writableLength <= this.options.maxBuffered) return false;
    if (this.overTimer !== undefined) return true;
    this.overTimer = setTimeout(() => {
      this.events.onLog(
        'warn',
        `send buffer over --max-buffered for ${this.options.overBufferedMs} ms ` +
          `(${this.socket.writableLength} bytes), ending the event stream`,
      );
      // It does not read: nothing more can reach it, not even the close event.
      this.ending ??= { code: CloseCode.PolicyViolation, side: 'server' };
      this.closing = true;
      this.socket.destroy();
    }, this.options.overBufferedMs);
    return true;
  }

  private onDrained(): void {
    clearTimeout(this.overTimer);
    this.overTimer = undefined;
  }

  private keepAlive(): void {
    if (this.isOpen) this.write(Buffer.from(sseComment('keepalive')));
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    // The client closed its connection: that is how an event-stream client leaves.
    const info = (this.ending ??= { code: undefined, side: 'client' });
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.closeTimer);
    clearTimeout(this.overTimer);
    this.events.onClosed(info);
  }
}
