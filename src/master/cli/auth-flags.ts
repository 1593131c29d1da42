import { commaList, type AuthSettings } from '../../shared/config';
import { UsageError, positive, wholeNumber } from './usage-error';
import { parseChannelPattern } from '../auth/channel-patterns';

/**
 * The authentication flags (docs/authentication.md, docs/cli.md): their yargs options
 * and their checks. Secrets are in files, never on the command line. A bad value
 * throws UsageError (one line, exit 2).
 */
export const AUTH_OPTIONS = {
  'auth-secret-file': { type: 'string', describe: 'FILE holding the HS256 token secret' },
  'auth-public-key': {
    type: 'string',
    describe: 'FILE: PEM public key (RS256, ES256, EdDSA) or JWKS verifying tokens',
  },
  'auth-cookie': { type: 'string', describe: 'NAME of a cookie a token may come in' },
  'auth-audience': { type: 'string', describe: 'the aud claim tokens must name' },
  'auth-issuer': { type: 'string', describe: 'the iss claim tokens must have' },
  'auth-leeway': {
    type: 'number',
    default: 5,
    describe: 'seconds of clock skew allowed on exp, nbf, iat',
  },
  'private-channels': {
    type: 'string',
    array: true,
    default: [],
    describe: 'channel PATTERN a token must allow (repeatable; * one segment, ** the rest)',
  },
  'allow-anonymous': {
    type: 'boolean',
    default: false,
    describe: 'with keys: no token still reaches channels that are not private',
  },
  'auth-url': { type: 'string', describe: "URL of the app's auth check (POST, before the 101)" },
  'auth-timeout': { type: 'number', default: 3, describe: 'seconds --auth-url has to answer' },
} as const;

/** What yargs parsed for these flags. */
export interface AuthArgs {
  'auth-secret-file'?: string;
  'auth-public-key'?: string;
  'auth-cookie'?: string;
  'auth-audience'?: string;
  'auth-issuer'?: string;
  'auth-leeway': number;
  'private-channels': readonly (string | number)[] | string;
  'allow-anonymous': boolean;
  'auth-url'?: string;
  'auth-timeout': number;
}

/** Most seconds of --auth-leeway (clock skew, not a grace period). */
export const MAX_LEEWAY_S = 300;
/** Most seconds of --auth-timeout: a client waits this long before its 101 or 503. */
export const MAX_AUTH_TIMEOUT_S = 30;

/** A cookie name (RFC 6265: an RFC 7230 token). */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function fileFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new UsageError(`--${flag} must name a file`);
  return value;
}

function authUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('--auth-url must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError('--auth-url must be an http:// or https:// URL');
  }
  return value;
}

/** The flags, checked: each pattern valid, nothing set that could have no effect. */
export function authSettings(parsed: AuthArgs): AuthSettings {
  const secretFile = fileFlag('auth-secret-file', parsed['auth-secret-file']);
  const publicKeyFile = fileFlag('auth-public-key', parsed['auth-public-key']);
  const url = authUrl(parsed['auth-url']);
  const keys = secretFile !== undefined || publicKeyFile !== undefined;
  const given = parsed['private-channels'];
  const privateChannels = commaList((typeof given === 'string' ? [given] : given).map(String)).map(
    (text) => {
      const pattern = parseChannelPattern(text);
      if (!pattern.ok) throw new UsageError(`--private-channels: ${pattern.error}`);
      return pattern.value.text;
    },
  );
  const needKeys = (flag: string): never => {
    throw new UsageError(`--${flag} needs --auth-secret-file or --auth-public-key`);
  };
  for (const flag of ['auth-cookie', 'auth-audience', 'auth-issuer'] as const) {
    if (parsed[flag] !== undefined && !keys) needKeys(flag);
  }
  if (parsed['allow-anonymous'] && !keys) needKeys('allow-anonymous');
  if (privateChannels.length > 0 && !keys && url === undefined) {
    throw new UsageError(
      '--private-channels needs --auth-secret-file, --auth-public-key or --auth-url',
    );
  }
  const cookie = parsed['auth-cookie'];
  if (cookie !== undefined && !COOKIE_NAME.test(cookie)) {
    throw new UsageError(`--auth-cookie ${JSON.stringify(cookie)} is not a cookie name`);
  }
  const timeout = positive('auth-timeout', parsed['auth-timeout']);
  if (timeout > MAX_AUTH_TIMEOUT_S) {
    throw new UsageError(`--auth-timeout must be at most ${MAX_AUTH_TIMEOUT_S} seconds`);
  }
  return {
    secretFile,
    publicKeyFile,
    cookie,
    audience: parsed['auth-audience'],
    issuer: parsed['auth-issuer'],
    leeway: wholeNumber('auth-leeway', parsed['auth-leeway'], 0, MAX_LEEWAY_S),
    privateChannels,
    allowAnonymous: parsed['allow-anonymous'],
    url,
    timeout,
  };
}
