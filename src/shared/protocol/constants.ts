/** RFC 6455 constants shared by the master and the worker. Pure: no I/O. */

/** Appended to Sec-WebSocket-Key before hashing (RFC 6455, section 1.3). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The only protocol version this server speaks. */
export const WEBSOCKET_VERSION = '13';

export const enum Opcode {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

/** Close codes this server sends (RFC 6455, section 7.4.1). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  /** Drain (SIGQUIT, POST /drain): reconnect, to another instance, after the hint. */
  ServiceRestart: 1012,
  TryAgainLater: 1013,
} as const;

/** Control frames carry at most this many payload bytes (section 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;
