import type { Socket } from 'node:net';
import { CloseCode, Opcode } from '../src/shared/protocol/constants';
import { encodeClose, encodeFrame, encodeText } from '../src/shared/protocol/frame';
import { Receiver, type ReceiverEvent } from '../src/shared/protocol/receiver';
import type { ClientEndpoint } from './client-endpoint';

export interface WebSocketEndpointOptions {
  maxMessageSize: number;
  /** Milliseconds between keepalive pings; 0 turns keepalive off. */
  pingIntervalMs: number;
  /** How long to wait for the peer's TCP close after our close frame. */
  closeTimeoutMs?: number;
  /** High-water mark of the send buffer (--max-buffered): over it, reading stops. */
  maxBuffered: number;
  /** How long the send buffer may stay over the mark before the client is closed (1008). */
  overBufferedMs: number;
}

/** How a connection ended: the first close frame's code and who sent it (for metrics). */
export interface CloseInfo {
  /** Undefined when no close frame was sent or received (the connection dropped: 1006). */
  code: number | undefined;
  side: 'client' | 'server';
}

/** RFC 6455 section 7.4.1: a close frame that carried no code. */
const NO_STATUS_RECEIVED = 1005;

export interface WebSocketEndpointEvents {
  /** A complete text message from the client. */
  onText(text: string): void;
  /** A complete binary message from the client (ignored when not given; --binary). */
  onBinary?(data: Buffer): void;
  /** A line worth logging (protocol errors, timeouts). */
  onLog(level: 'warn' | 'info' | 'debug', message: string): void;
  /** The TCP connection is gone; nothing more can be sent. `info`: how it ended. */
  onClosed(info: CloseInfo): void;
  /** Bytes were read or written (the memory ceiling looks only after activity). */
  onActivity?(): void;
}

/**
 * The client's side of a worker: the one and only reader and writer of the socket
 * after the hand-off. It turns bytes into messages (via the pure Receiver), answers
 * pings and close frames as RFC 6455 requires, and keeps the connection alive.
 */
export class WebSocketEndpoint implements ClientEndpoint {
  private readonly receiver: Receiver;
  private closeSent = false;
  private closed = false;
  private lastHeard = Date.now();
  private pingTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  /** Set while the send buffer is over the mark: reading is paused until it drains. */
  private overTimer: NodeJS.Timeout | undefined;
  private dataFrames = 0;
  private ending: CloseInfo | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly options: WebSocketEndpointOptions,
    private readonly events: WebSocketEndpointEvents,
  ) {
    this.receiver = new Receiver({ maxMessageSize: options.maxMessageSize });
  }

  /** Starts reading; `head` holds bytes the master already read past the handshake. */
  start(head: Buffer): void {
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) =>
      this.events.onLog('debug', `socket error: ${error.message}`),
    );
    this.socket.on('close', () => this.onSocketClose());
    this.socket.on('drain', () => this.onDrained());
    if (this.options.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.keepAlive(), this.options.pingIntervalMs);
    }
    if (head.length > 0) this.onData(head);
  }

  get isOpen(): boolean {
    return !this.closeSent && !this.closed;
  }

  /** Bytes queued in user space on the socket (for back-pressure decisions). */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** Calls back each time the socket's send buffer has emptied after a full write. */
  onDrain(listener: () => void): void {
    this.socket.on('drain', listener);
  }

  /** One text message. True when the send buffer is over --max-buffered after it. */
  sendText(text: string): boolean {
    return this.sendData(encodeText(text));
  }

  /**
   * One binary message (--binary: the command's output as read). True when the send
   * buffer is over --max-buffered after it.
   */
  sendBinary(data: Buffer): boolean {
    return this.sendData(encodeFrame(Opcode.Binary, data));
  }

  /**
   * `count` whole data frames, encoded already (publications, framed by the master).
   * True when the send buffer is over --max-buffered after them. None (an empty buffer,
   * the wake record's rehearsal) goes the same way: a write of no byte sends nothing.
   */
  sendFrames(frames: Buffer, count: number): boolean {
    if (!this.isOpen) return false;
    this.dataFrames += count;
    return this.write(frames);
  }

  /** Data frames, counted (pings, pongs and close frames are not). True when over. */
  private sendData(frame: Buffer): boolean {
    if (!this.isOpen) return false;
    const over = this.write(frame);
    this.dataFrames++;
    return over;
  }

  /** Data frames sent so far (pings, pongs and close frames are not counted). */
  get framesSent(): number {
    return this.dataFrames;
  }

  /**
   * Every frame goes out here, so every write counts against --max-buffered. Over the
   * mark, we stop reading the client (input back-pressure: a client that floods us
   * with pings and never reads our pongs throttles itself, as its own send window
   * fills); the socket's 'drain' resumes reading. A client that stays over the mark
   * for `overBufferedMs` is not reading at all: it is closed with 1008. True when over.
   */
  private write(frame: Buffer): boolean {
    this.socket.write(frame);
    this.events.onActivity?.();
    if (this.socket.writableLength <= this.options.maxBuffered) return false;
    if (this.overTimer !== undefined) return true;
    this.socket.pause();
    this.overTimer = setTimeout(() => {
      this.events.onLog(
        'warn',
        `send buffer over --max-buffered for ${this.options.overBufferedMs} ms ` +
          `(${this.socket.writableLength} bytes), closing with 1008`,
      );
      this.close(CloseCode.PolicyViolation, 'not reading');
    }, this.options.overBufferedMs);
    return true;
  }

  private onDrained(): void {
    if (this.overTimer === undefined) return;
    clearTimeout(this.overTimer);
    this.overTimer = undefined;
    if (!this.closed) this.socket.resume();
  }

  /**
   * Starts the closing handshake: our close frame, then FIN. The peer answers with
   * its close frame and its FIN; if it does not within the timeout, the socket is
   * destroyed so a dead peer cannot keep the worker alive.
   */
  close(code: number | undefined, reason = ''): void {
    if (this.closed) return;
    if (!this.closeSent) {
      this.ending ??= { code, side: 'server' };
      this.closeSent = true;
      this.socket.end(encodeClose(code, reason));
    }
    this.closeTimer ??= setTimeout(
      () => this.socket.destroy(),
      this.options.closeTimeoutMs ?? 1000,
    );
  }

  private onData(chunk: Buffer): void {
    this.lastHeard = Date.now();
    this.events.onActivity?.();
    for (const event of this.receiver.push(chunk)) this.onEvent(event);
  }

  private onEvent(event: ReceiverEvent): void {
    switch (event.type) {
      case 'text':
        this.events.onText(event.text);
        return;
      case 'binary':
        this.events.onBinary?.(event.data);
        return;
      case 'pong':
        return; // accepted and ignored
      case 'ping':
        if (this.isOpen) this.write(encodeFrame(Opcode.Pong, event.data));
        return;
      case 'close':
        this.events.onLog('debug', `client sent close ${event.code ?? '(no code)'}`);
        this.ending ??= { code: event.code ?? NO_STATUS_RECEIVED, side: 'client' };
        // Echo the peer's code (none if it sent none), then close the TCP connection.
        this.close(event.code);
        return;
      case 'error':
        this.events.onLog('warn', `protocol error, closing with ${event.code}: ${event.reason}`);
        this.close(event.code, event.reason);
        return;
    }
  }

  /** Pings the client; a client silent for two intervals is taken for gone. */
  private keepAlive(): void {
    if (Date.now() - this.lastHeard >= 2 * this.options.pingIntervalMs) {
      this.events.onLog('info', 'client silent for two ping intervals, dropping it');
      this.close(CloseCode.GoingAway, 'ping timeout');
      return;
    }
    if (this.isOpen) this.write(encodeFrame(Opcode.Ping));
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    // No close frame either way: the client's side dropped the connection.
    const info = (this.ending ??= { code: undefined, side: 'client' });
    clearInterval(this.pingTimer);
    clearTimeout(this.closeTimer);
    clearTimeout(this.overTimer);
    this.events.onClosed(info);
  }
}
