/**
 * Stable machine-readable codes for the server's refusals (HTTP, before or at the
 * handshake) and its application close reasons: logs carry them (` [CODE]`), /metrics
 * labels refusals by them, and the client library keeps a copy of the close names
 * (test/unit/client/rules.test.ts checks it agrees). The names never change once
 * published; a new case gets a new name. The HTTP bodies stay the human-readable text.
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
  /** Any other 4xx. */
  ClientError: 'CLIENT_ERROR',
  /** Any other 5xx. */
  ServerError: 'SERVER_ERROR',
} as const;

export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

/** Every refusal code, for docs and label checks. */
export const REFUSAL_CODES: readonly RefusalCode[] = Object.values(RefusalCode);

/**
 * The code of a refusal from its status and reason text. Refusals are made in many
 * places with a status and a reason; this one table names them, so a caller that says
 * no more still gets a code. Specific texts first, then the status.
 */
export function refusalCode(status: number, reason: string): RefusalCode {
  const text = reason.toLowerCase();
  if (status === 403 && text.includes('origin')) return RefusalCode.OriginNotAllowed;
  if (text.startsWith('server full')) return RefusalCode.ServerFull;
  if (text.startsWith('no worker available')) return RefusalCode.NoWorker;
  if (text.startsWith('history unavailable')) return RefusalCode.HistoryUnavailable;
  if (text.startsWith('token expired')) return RefusalCode.TokenExpired;
  if (text.startsWith('bad channel')) return RefusalCode.BadChannel;
  if (text.startsWith('not published')) return RefusalCode.NotPublished;
  if (text.startsWith('not disconnected')) return RefusalCode.NotDisconnected;
  switch (status) {
    case 400:
      return RefusalCode.BadRequest;
    case 401:
      return RefusalCode.Unauthorized;
    case 403:
      return RefusalCode.Forbidden;
    case 404:
      return RefusalCode.NotFound;
    case 405:
      return RefusalCode.MethodNotAllowed;
    case 408:
      return RefusalCode.Timeout;
    case 413:
      return RefusalCode.BodyTooLarge;
    case 414:
    case 431:
      return RefusalCode.HeadersTooLarge;
    case 422:
      return RefusalCode.NotPublished;
    case 426:
      return RefusalCode.UpgradeRequired;
    case 429:
      return RefusalCode.RateLimited;
    case 503:
      return RefusalCode.Unavailable;
    default:
      return status >= 500 ? RefusalCode.ServerError : RefusalCode.ClientError;
  }
}

/** The stable name of each application close code (server to client). */
export const CLOSE_CODE_NAME: Record<(typeof AppCloseCode)[keyof typeof AppCloseCode], string> = {
  [AppCloseCode.TokenExpired]: 'TOKEN_EXPIRED',
  [AppCloseCode.Disconnected]: 'DISCONNECTED',
  [AppCloseCode.MaxLifetime]: 'MAX_LIFETIME',
  [AppCloseCode.IdleTimeout]: 'IDLE_TIMEOUT',
};
