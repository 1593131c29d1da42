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
/** A sandbox limit ended the client's command: the client comes back after its back-off. */
export const CLOSE_LIMIT_EXCEEDED = 4005;

/**
 * 1012 "service restart": the server drains (SIGQUIT, POST /drain) and closes its clients
 * gradually; the reason carries a hint, `service restart; reconnect in N ms`.
 */
export const CLOSE_SERVICE_RESTART = 1012;

/** A hint longer than this is taken as this: a bad reason cannot stall a client. */
export const RESTART_HINT_MAX_MS = 60000;

/** The reconnect hint of a 1012's reason, in ms; undefined when it has none. Pure. */
export function restartHintMs(reason: string): number | undefined {
  const match = /reconnect in (\d{1,9}) ms/.exec(reason);
  return match === null ? undefined : Math.min(Number(match[1]), RESTART_HINT_MAX_MS);
}

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
  [CLOSE_LIMIT_EXCEEDED]: 'LIMIT_EXCEEDED',
};
