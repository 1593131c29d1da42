/**
 * Which close codes a peer may put on the wire (RFC 6455, section 7.4).
 * 1004, 1005, 1006 and 1015 are reserved for local use and must never be sent;
 * 1016-2999 belong to future RFCs; 3000-4999 are for libraries and applications.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

/**
 * This server's application close codes (server to client), one table: a client library
 * decides on these (docs/protocol). Each has one reason text, sent with it.
 */
export const AppCloseCode = {
  /** The token's `exp` (or --auth-url's `expire_at`) passed: get a fresh token, come back. */
  TokenExpired: 4001,
  /** POST /disconnect closed it (by its client id or its user): do not reconnect at once. */
  Disconnected: 4002,
  /** --max-lifetime passed (plus a little jitter): reconnect, the session is recycled. */
  MaxLifetime: 4003,
  /** --idle-timeout passed without a data message either way: reconnect when needed. */
  IdleTimeout: 4004,
  /** A sandbox limit (--exec-limit, a client cgroup) ended the client's command. */
  LimitExceeded: 4005,
} as const;

export const APP_CLOSE_REASON: Record<(typeof AppCloseCode)[keyof typeof AppCloseCode], string> = {
  [AppCloseCode.TokenExpired]: 'token expired',
  [AppCloseCode.Disconnected]: 'disconnected',
  [AppCloseCode.MaxLifetime]: 'max lifetime',
  [AppCloseCode.IdleTimeout]: 'idle timeout',
  [AppCloseCode.LimitExceeded]: 'limit exceeded',
};
