import type { IncomingHttpHeaders } from 'node:http';
import { assertNever } from '../../shared/assert-never';
import { RefusalCode } from '../../shared/protocol/reasons';
import type { AuthHook } from './auth-hook';
import { matchesAny, type ChannelPattern } from './channel-patterns';
import type { Identity } from './identity';
import { findToken, withoutToken } from './token-source';
import type { TokenVerifier } from './token-verifier';

/** Seconds a client turned away because --auth-url failed is told to wait (Retry-After). */
export const HOOK_RETRY_AFTER_S = 5;

/** What the gate needs of one upgrade request. */
export interface GateRequest {
  /** The request target as sent ("/user/42?token=..."). */
  target: string;
  headers: IncomingHttpHeaders;
  /** The client's address (as --trust-proxy resolves it). */
  address: string;
  /** The channel it asks for (normalised). */
  channel: string;
}

export type GateVerdict =
  /** Admitted; `identity` undefined for an anonymous client. */
  | { ok: true; identity: Identity | undefined }
  | {
      ok: false;
      status: 401 | 403 | 503;
      code: RefusalCode;
      /** The short answer the client gets (no secret in it). */
      reason: string;
      headers?: Record<string, string>;
      /** More for the log line only. */
      detail?: string;
    };

export interface GateOptions {
  /** --auth-secret-file / --auth-public-key: tokens are verified. */
  verifier?: TokenVerifier;
  /** --auth-url: the app decides for a connection without a token. */
  hook?: AuthHook;
  /** --auth-cookie: the cookie a token may come in. */
  cookie?: string;
  /** --private-channels. */
  privateChannels: readonly ChannelPattern[];
  /** --allow-anonymous: without a token, the channels that are not private. */
  allowAnonymous: boolean;
}

/**
 * Who may connect, and to which channel, decided before the handshake (docs/
 * authentication.md):
 * - a request with a token, when keys are set: the token decides (a bad or expired
 *   one is 401, never taken for anonymous);
 * - otherwise, with --auth-url: the app decides (401/403 as it answers, 503 when it fails);
 * - otherwise, with keys: 401 "no token", unless --allow-anonymous;
 * - then a private channel needs an identity (401) whose channels allow it (403).
 */
export class Gate {
  constructor(private readonly options: GateOptions) {}

  async admit(request: GateRequest): Promise<GateVerdict> {
    const { verifier, hook, cookie } = this.options;
    const found = findToken(request.target, request.headers, cookie);
    let identity: Identity | undefined;
    if (verifier !== undefined && found !== undefined) {
      const verdict = await verifier.verify(found.token);
      if (!verdict.ok)
        return { ok: false, status: 401, code: verdict.code, reason: verdict.reason };
      identity = verdict.identity;
    } else if (hook !== undefined) {
      const verdict = await hook.ask({
        path: withoutToken(request.target),
        channel: request.channel,
        cookie: request.headers.cookie ?? null,
        authorization: request.headers.authorization ?? null,
        origin: request.headers.origin ?? null,
        user_agent: request.headers['user-agent'] ?? null,
        remote_addr: request.address,
      });
      switch (verdict.kind) {
        case 'refuse':
          return { ok: false, status: verdict.status, code: verdict.code, reason: verdict.reason };
        case 'failed':
          return {
            ok: false,
            status: 503,
            code: RefusalCode.Unavailable,
            reason: 'Authentication unavailable, try again later',
            headers: { 'Retry-After': String(HOOK_RETRY_AFTER_S) },
            detail: `--auth-url ${verdict.detail}`,
          };
        case 'admit':
          identity = verdict.identity;
          break;
        default:
          assertNever(verdict, 'auth hook verdict');
      }
    } else if (verifier !== undefined && !this.options.allowAnonymous) {
      return { ok: false, status: 401, code: RefusalCode.Unauthorized, reason: 'no token' };
    }
    if (matchesAny(this.options.privateChannels, request.channel)) {
      if (identity === undefined) {
        const reason = 'no token (the channel is private)';
        return { ok: false, status: 401, code: RefusalCode.Unauthorized, reason };
      }
      if (!matchesAny(identity.grants, request.channel)) {
        return {
          ok: false,
          status: 403,
          code: RefusalCode.Forbidden,
          reason: 'not allowed on this channel',
          detail: `user ${JSON.stringify(identity.user)} may not subscribe to ${request.channel}`,
        };
      }
    }
    return { ok: true, identity };
  }
}
