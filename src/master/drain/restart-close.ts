import { CloseCode } from '../../shared/protocol/constants';

/** The reconnect hint's range: drawn per client, so the clients of one tick spread out. */
export const HINT_MIN_MS = 100;
export const HINT_MAX_MS = 1000;

/** A reconnect hint in ms: a draw between HINT_MIN_MS and HINT_MAX_MS. Pure. */
export function reconnectHintMs(random: () => number): number {
  return Math.round(HINT_MIN_MS + random() * (HINT_MAX_MS - HINT_MIN_MS));
}

/**
 * A drain's close: code 1012 (service restart) with the reconnect hint in its reason,
 * `service restart; reconnect in N ms` (docs/protocol.md; the client library reads it,
 * src/client/lib/close-codes.ts). Pure.
 */
export function restartClose(hintMs: number): { code: number; reason: string } {
  return { code: CloseCode.ServiceRestart, reason: `service restart; reconnect in ${hintMs} ms` };
}
