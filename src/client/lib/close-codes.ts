/**
 * The server's application close codes the client acts on. The server's table is
 * src/shared/protocol/close-codes.ts (names: src/shared/protocol/reasons.ts); the client
 * keeps the numbers and names itself (its
 * declarations ship alone), and test/unit/client/rules.test.ts checks they agree.
 */

/** The token expired: reconnect with a fresh one (the token function is asked again). */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** Disconnected by the publisher API (POST /disconnect): the app meant it; no reconnect. */
export const CLOSE_DISCONNECTED = 4002;
/** --max-lifetime ended the session: reconnect (the usual back-off applies). */
export const CLOSE_MAX_LIFETIME = 4003;
/** --idle-timeout: nothing went either way for too long; reconnect (the usual back-off). */
export const CLOSE_IDLE_TIMEOUT = 4004;

/** Close codes after which the client does not come back by itself. */
export const NO_RECONNECT_CODES: ReadonlySet<number> = new Set([CLOSE_DISCONNECTED]);

/**
 * The stable name of each application close code, as in the server's logs and docs
 * (docs/protocol.md): for an app's own logs and metrics. Undefined for other codes.
 */
export const CLOSE_CODE_NAMES: Readonly<Record<number, string>> = {
  [CLOSE_TOKEN_EXPIRED]: 'TOKEN_EXPIRED',
  [CLOSE_DISCONNECTED]: 'DISCONNECTED',
  [CLOSE_MAX_LIFETIME]: 'MAX_LIFETIME',
  [CLOSE_IDLE_TIMEOUT]: 'IDLE_TIMEOUT',
};
