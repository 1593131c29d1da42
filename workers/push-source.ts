import type { LogLevel } from '../src/shared/config';

/**
 * What a push source may do with its client: the worker's side of the pipe, in the
 * spirit of websocketd's Endpoint. Sources are the original's demo, an --exec
 * command, and messages published through the master.
 */
export interface ClientSink {
  /**
   * Sends a push (a text frame, or a JSON "push" object for a JSON client). True when
   * the send buffer is over --max-buffered after it (false when the client is closing).
   */
  send(text: string): boolean;
  /**
   * Sends raw bytes as one binary message (--binary: a command's output as read). True
   * when the send buffer is over --max-buffered after it (false when the client is closing).
   */
  sendBytes(data: Buffer): boolean;
  /**
   * Sends published messages: `count` whole text frames, already in the client's format
   * (the master framed them), as they are; none when `count` is 0 (a wake record: the
   * path runs, with an empty buffer, and writes nothing; no push is counted).
   * True when the send buffer is over --max-buffered after them.
   */
  publishFrames(frames: Buffer, count: number): boolean;
  /** Bytes queued on the socket and not yet taken by the kernel. */
  readonly bufferedAmount: number;
  /** Calls back each time the socket's send buffer has emptied after a full write. */
  onDrain(listener: () => void): void;
  /** Closes the client with a close code. */
  close(code: number, reason: string): void;
  log(level: LogLevel, message: string): void;
}

export interface PushSource {
  /** The client is connected: start pushing to it. */
  start(client: ClientSink): void;
  /** A text message from the client; returns true if this source consumed it. */
  fromClient?(text: string): boolean;
  /** A binary message from the client; returns true if this source consumed it. */
  fromClientBytes?(data: Buffer): boolean;
  /** Stops pushing; resolves once whatever it runs has ended. Safe to call twice. */
  stop(): Promise<void>;
}
