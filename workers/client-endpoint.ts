import type { StreamPosition } from '../src/shared/ipc';
import type { SseEventName } from '../src/shared/protocol/sse';

/** What a message is, for a transport that names it (SSE: `event:` and `id:`). */
export interface MessageKind {
  event: SseEventName;
  /** Where a message that moves the client's position leaves it (SSE: its `id:`). */
  position?: StreamPosition;
}

/**
 * The client's side of a worker, whatever the transport: a WebSocket
 * (websocket-endpoint.ts) or an event stream (sse-endpoint.ts). The one reader and
 * writer of the socket after the hand-off.
 */
export interface ClientEndpoint {
  /** Starts serving; `head` holds bytes the master already read past the request. */
  start(head: Buffer): void;
  readonly isOpen: boolean;
  /** Bytes queued in user space on the socket (for back-pressure decisions). */
  readonly bufferedAmount: number;
  onDrain(listener: () => void): void;
  /** One text message. True when the send buffer is over --max-buffered after it. */
  sendText(text: string, kind?: MessageKind): boolean;
  /** One binary message (--binary). True when over --max-buffered after it. */
  sendBinary(data: Buffer): boolean;
  /** `count` whole frames the master framed (publications). True when over. */
  sendFrames(frames: Buffer, count: number): boolean;
  /** Data messages sent so far. */
  readonly framesSent: number;
  /** Ends the connection (a close frame; for SSE a `close` event and the body's end). */
  close(code: number | undefined, reason?: string): void;
}
