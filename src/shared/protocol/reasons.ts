/**
 * Stable machine-readable codes for the server's refusals (HTTP, before or at the
 * handshake) and its application close reasons: logs carry them (` [CODE]`), /metrics
 * labels refusals by them, and the client library keeps a copy of the close names
 * (test/unit/client/rules.test.ts checks it agrees). The names never change once
 * published; a new case gets a new name. The HTTP bodies stay the human-readable text.
 * Every refusal names its code where it is made (http/refusal.ts: Refusal); none is
 * guessed from its text.
 */
import { AppCloseCode } from './close-codes';

/** Why an HTTP request (a handshake, an API call) was refused. */
export const RefusalCode = {
  /** The Origin is not among --origin / --same-origin. */
  OriginNotAllowed: 'ORIGIN_NOT_ALLOWED',
  /** --max-forks clients are connected. */
  ServerFull: 'SERVER_FULL',
  /** No worker came in time (spares exhausted, fork slow). */
  NoWorker: 'NO_WORKER',
  /** The instance is draining or not ready (the /healthz reason). */
  Unavailable: 'UNAVAILABLE',
  /** `since` asked for recovery and the history cannot answer now. */
  HistoryUnavailable: 'HISTORY_UNAVAILABLE',
  /** The token's exp passed (or the auth backend says so). */
  TokenExpired: 'TOKEN_EXPIRED',
  /** No token, a bad one, or the admin token missing. */
  Unauthorized: 'UNAUTHORIZED',
  /** The auth backend or the token's channels forbid it. */
  Forbidden: 'FORBIDDEN',
  /** Per-address limits or the connect rate (429, Retry-After). */
  RateLimited: 'RATE_LIMITED',
  /** The channel name is not valid. */
  BadChannel: 'BAD_CHANNEL',
  /** Any other malformed request (400). */
  BadRequest: 'BAD_REQUEST',
  /** No such path, client or resource. */
  NotFound: 'NOT_FOUND',
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  /** The request did not arrive in time (408). */
  Timeout: 'TIMEOUT',
  /** A body over --max-message-size (413). */
  BodyTooLarge: 'BODY_TOO_LARGE',
  /** Headers too large (431) or a URI too long (414). */
  HeadersTooLarge: 'HEADERS_TOO_LARGE',
  /** Not a WebSocket handshake where one is needed (426), or a bad one. */
  UpgradeRequired: 'UPGRADE_REQUIRED',
  /** The publication was refused or could not be stored (422, 503 on publish). */
  NotPublished: 'NOT_PUBLISHED',
  /** A disconnect could not be carried out (503 on /disconnect). */
  NotDisconnected: 'NOT_DISCONNECTED',
  /** GET /presence cannot be answered now (the backplane is down): 503. */
  PresenceUnavailable: 'PRESENCE_UNAVAILABLE',
  /** Any other 4xx. */
  ClientError: 'CLIENT_ERROR',
  /** Any other 5xx. */
  ServerError: 'SERVER_ERROR',
} as const;

export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

/** Every refusal code, for docs and label checks. */
export const REFUSAL_CODES: readonly RefusalCode[] = Object.values(RefusalCode);

/** The stable name of each application close code (server to client). */
export const CLOSE_CODE_NAME: Record<(typeof AppCloseCode)[keyof typeof AppCloseCode], string> = {
  [AppCloseCode.TokenExpired]: 'TOKEN_EXPIRED',
  [AppCloseCode.Disconnected]: 'DISCONNECTED',
  [AppCloseCode.MaxLifetime]: 'MAX_LIFETIME',
  [AppCloseCode.IdleTimeout]: 'IDLE_TIMEOUT',
  [AppCloseCode.LimitExceeded]: 'LIMIT_EXCEEDED',
};
