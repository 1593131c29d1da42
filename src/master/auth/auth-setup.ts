import { authOn, type AuthSettings } from '../../shared/config';
import { unwrap } from '../../shared/result';
import { AuthHook } from './auth-hook';
import { parseChannelPattern } from './channel-patterns';
import { Gate } from './gate';
import { readVerificationKeys, type VerificationKeys } from './keys';
import { TokenVerifier } from './token-verifier';

/** The gate the flags ask for, and a line saying so (no secret in it). */
export interface AuthSetup {
  gate: Gate;
  /** "Authentication: HS256 (secret file /etc/...), private channels /user/*". */
  summary: string;
}

function describeKeys(keys: VerificationKeys, settings: AuthSettings): string[] {
  const parts: string[] = [];
  if (keys.secret !== undefined) parts.push(`HS256 tokens (secret in ${settings.secretFile})`);
  if (keys.publicKey !== undefined) {
    parts.push(`${keys.publicKey.algorithm} tokens (public key ${settings.publicKeyFile})`);
  }
  if (keys.jwks !== undefined) parts.push(`tokens of the JWKS ${settings.publicKeyFile}`);
  return parts;
}

/**
 * Reads the key files and builds the gate; undefined when no authentication is asked
 * for. Throws UsageError (exit 2, one line) for a file that cannot be read or used.
 */
export function authSetup(settings: AuthSettings): AuthSetup | undefined {
  if (!authOn(settings)) return undefined;
  const keys = readVerificationKeys(settings);
  const privateChannels = settings.privateChannels.map(
    (text) => unwrap(parseChannelPattern(text), '--private-channels'), // checked by the flags
  );
  const gate = new Gate({
    verifier:
      keys === undefined
        ? undefined
        : new TokenVerifier(keys, {
            leewayS: settings.leeway,
            audience: settings.audience,
            issuer: settings.issuer,
          }),
    hook:
      settings.url === undefined
        ? undefined
        : new AuthHook(settings.url, Math.round(settings.timeout * 1000)),
    cookie: settings.cookie,
    privateChannels,
    allowAnonymous: settings.allowAnonymous,
  });
  const parts = keys === undefined ? [] : describeKeys(keys, settings);
  if (settings.url !== undefined) parts.push(`--auth-url ${new URL(settings.url).origin}`);
  parts.push(
    privateChannels.length === 0
      ? 'no private channels'
      : `private channels ${privateChannels.map((pattern) => pattern.text).join(', ')}`,
  );
  if (settings.allowAnonymous) parts.push('anonymous clients allowed');
  return { gate, summary: `Authentication: ${parts.join('; ')}` };
}
