import { errors, jwtVerify, type JWTHeaderParameters, type JWTPayload, type KeyLike } from 'jose';
import { grantsOf, userOf, type Identity } from './identity';
import type { VerificationKeys } from './keys';
import { RefusalCode } from '../../shared/protocol/reasons';

/** How tokens are checked (the --auth-* flags). */
export interface TokenRules {
  /** Seconds of clock skew allowed on exp, nbf and iat (--auth-leeway). */
  leewayS: number;
  /** --auth-audience: the `aud` a token must name. */
  audience?: string;
  /** --auth-issuer: the `iss` a token must have. */
  issuer?: string;
}

/** Why a token is refused: expired, or any other fault (always a 401). */
export type TokenRefusalCode = typeof RefusalCode.TokenExpired | typeof RefusalCode.Unauthorized;

/** A token's fate: who it vouches for, or why it is refused (a short reason, no secret). */
export type TokenVerdict =
  { ok: true; identity: Identity } | { ok: false; code: TokenRefusalCode; reason: string };

/** A refused token that is not an expired one. */
function badToken(reason: string): TokenVerdict {
  return { ok: false, code: RefusalCode.Unauthorized, reason };
}

/** Longest token looked at: anything longer is refused without parsing. */
export const MAX_TOKEN_CHARS = 8192;

/**
 * Verifies connection tokens (JWT, JWS compact) with `jose`: the signature with the
 * configured keys (HS256 with --auth-secret-file; the public key's algorithm, or any key
 * of the JWKS, with --auth-public-key), `exp` and `sub` required, `nbf` and `iat`
 * honoured, `aud` and `iss` checked when set, all with the leeway. The reasons name the
 * fault (expired, not yet valid, wrong audience...) and never quote the token.
 */
export class TokenVerifier {
  private readonly algorithms: string[];

  constructor(
    private readonly keys: VerificationKeys,
    private readonly rules: TokenRules,
  ) {
    this.algorithms = [
      ...(keys.secret === undefined ? [] : ['HS256']),
      ...(keys.publicKey === undefined ? [] : [keys.publicKey.algorithm]),
      ...(keys.jwks?.algorithms ?? []),
    ];
  }

  async verify(token: string): Promise<TokenVerdict> {
    if (token.length > MAX_TOKEN_CHARS) return badToken('bad token (too long)');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header, input) => this.keyFor(header, input), {
        algorithms: this.algorithms,
        audience: this.rules.audience,
        issuer: this.rules.issuer,
        clockTolerance: this.rules.leewayS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      const code =
        error instanceof errors.JWTExpired ? RefusalCode.TokenExpired : RefusalCode.Unauthorized;
      return { ok: false, code, reason: refusalReason(error) };
    }
    const now = Date.now() / 1000;
    if (typeof payload.iat === 'number' && payload.iat > now + this.rules.leewayS) {
      return badToken('token not yet valid (iat in the future)');
    }
    const user = userOf(payload.sub);
    if (user === undefined) return badToken('bad token (sub is not a user id)');
    const grants = grantsOf(payload.channels);
    if (!grants.ok) return badToken(`bad token (${grants.error})`);
    const exp = payload.exp as number; // required and checked a number above
    return {
      ok: true,
      identity: {
        user,
        claims: payload,
        grants: grants.value,
        expiresAt: Math.round((exp + this.rules.leewayS) * 1000),
      },
    };
  }

  /** The key for a token's algorithm: the secret for HS256, else the public key(s). */
  private keyFor(
    header: JWTHeaderParameters,
    input: Parameters<NonNullable<VerificationKeys['jwks']>['set']>[1],
  ): KeyLike | Promise<KeyLike> {
    const { secret, publicKey, jwks } = this.keys;
    if (header.alg === 'HS256' && secret !== undefined) return secret;
    if (publicKey !== undefined && header.alg === publicKey.algorithm) return publicKey.key;
    if (jwks !== undefined) return jwks.set(header, input);
    throw new errors.JOSEAlgNotAllowed('no key for this algorithm');
  }
}

/** The short reason of a refused token: which check failed, never the token. */
function refusalReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `bad token (no ${error.claim} claim)`;
    switch (error.claim) {
      case 'nbf':
        return error.reason === 'check_failed' ? 'token not yet valid' : 'bad token (nbf)';
      case 'aud':
        return 'bad token (wrong audience)';
      case 'iss':
        return 'bad token (wrong issuer)';
      default:
        return `bad token (${error.claim})`;
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'bad token (algorithm not accepted)';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad token (signature)';
  if (error instanceof errors.JWKSNoMatchingKey) return 'bad token (no matching key)';
  return 'bad token (malformed)';
}
