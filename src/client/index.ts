/**
 * push-websocket/client: a client of one channel of a push-websocket server, for
 * browsers and Node (docs/client.md). Served by the server at /client.js, shipped in
 * the package as `push-websocket/client`.
 */
export { PushClient } from './lib/client';
export type {
  ClientState,
  FetchLike,
  GapEvent,
  PubEvent,
  PushClientEvents,
  PushClientOptions,
  RecoveryEvent,
  StateEvent,
} from './lib/client';
export { reconnectDelay, restartDelay, retryAfterMs, type BackoffOptions } from './lib/backoff';
export { channelOfPath, type ChannelResult } from './lib/channel';
export type { Clock } from './lib/clock';
export {
  CLOSE_CODE_NAMES,
  CLOSE_DISCONNECTED,
  CLOSE_IDLE_TIMEOUT,
  CLOSE_MAX_LIFETIME,
  CLOSE_SERVICE_RESTART,
  CLOSE_TOKEN_EXPIRED,
  restartHintMs,
} from './lib/close-codes';
export type { Position } from './lib/frames';
export {
  webSocketTransport,
  type Connection,
  type ConnectionHandlers,
  type Transport,
  type WebSocketConstructor,
  type WebSocketLike,
} from './lib/transport';
