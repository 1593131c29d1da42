import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose';
import { UsageError } from '../cli/usage-error';

/**
 * The keys tokens are verified with, read once at start from the files the flags name
 * (a secret is never on the command line, and never logged: errors name the file, not
 * what is in it). A file that cannot be read or holds no usable key is a UsageError:
 * exit 2 with one line.
 */
export interface VerificationKeys {
  /** --auth-secret-file: the HS256 secret (a KeyObject: jose would make one per token). */
  secret?: KeyObject;
  /** --auth-public-key: one public key (PEM) and the algorithm its type implies. */
  publicKey?: { key: KeyObject; algorithm: string };
  /** --auth-public-key: a JWKS file; keys chosen by `kid` and `alg`. */
  jwks?: { set: ReturnType<typeof createLocalJWKSet>; algorithms: string[] };
}

/** RFC 7518, 3.2: an HS256 key must be at least as long as the hash (256 bits). */
export const MIN_SECRET_BYTES = 32;

/** Asymmetric algorithms a JWKS may use (a key's own `alg` narrows it further). */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const EC_ALGORITHMS: Record<string, string> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

function readKeyFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new UsageError(`--${flag}: cannot read ${JSON.stringify(file)}: ${code ?? message}`);
  }
}

/** The secret: the file's bytes, less trailing line ends (an editor's or echo's newline). */
function readSecret(file: string): KeyObject {
  let bytes = readKeyFile('auth-secret-file', file);
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  bytes = bytes.subarray(0, end);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new UsageError(
      `--auth-secret-file: the secret in ${JSON.stringify(file)} is ${bytes.length} bytes; HS256 needs ${MIN_SECRET_BYTES} at least`,
    );
  }
  return createSecretKey(bytes);
}

/** The algorithm a public key's type implies (RS256, ES256/384/512, EdDSA). */
function algorithmOf(key: KeyObject, file: string): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if ((details?.modulusLength ?? 0) < 2048) {
        throw new UsageError(`--auth-public-key: the RSA key in ${file} is under 2048 bits`);
      }
      return 'RS256';
    case 'ec': {
      const algorithm = EC_ALGORITHMS[details?.namedCurve ?? ''];
      if (algorithm === undefined) {
        throw new UsageError(
          `--auth-public-key: the curve of ${file} (${details?.namedCurve}) is not P-256, P-384 or P-521`,
        );
      }
      return algorithm;
    }
    case 'ed25519':
    case 'ed448':
      return 'EdDSA';
    default:
      throw new UsageError(
        `--auth-public-key: ${file} holds a ${key.asymmetricKeyType} key; RSA, EC or Ed25519 expected`,
      );
  }
}

function readJwks(text: string, file: string): NonNullable<VerificationKeys['jwks']> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--auth-public-key: ${file} is neither PEM nor JSON (a JWKS)`);
  }
  const object = parsed as Partial<JSONWebKeySet> & JWK;
  // One JWK alone is taken as a set of one.
  const keys = Array.isArray(object.keys) ? object.keys : [object];
  const bad = keys.findIndex(
    (key) =>
      typeof key !== 'object' ||
      key === null ||
      !['RSA', 'EC', 'OKP'].includes(String(key.kty)) ||
      'd' in key,
  );
  if (keys.length === 0 || bad >= 0) {
    throw new UsageError(
      keys.length === 0
        ? `--auth-public-key: the JWKS in ${file} has no keys`
        : `--auth-public-key: key ${bad} of ${file} is not a public RSA, EC or OKP key`,
    );
  }
  try {
    return { set: createLocalJWKSet({ keys }), algorithms: JWKS_ALGORITHMS };
  } catch (error) {
    throw new UsageError(`--auth-public-key: ${file}: ${(error as Error).message}`);
  }
}

function readPublicKey(file: string): Pick<VerificationKeys, 'publicKey' | 'jwks'> {
  const text = readKeyFile('auth-public-key', file).toString('utf8').trim();
  if (text.startsWith('{')) return { jwks: readJwks(text, file) };
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new UsageError(
      `--auth-public-key: ${file} holds a private key; give the server the public key only`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new UsageError(
      `--auth-public-key: ${file} holds no PEM public key or certificate (nor a JWKS)`,
    );
  }
  return { publicKey: { key, algorithm: algorithmOf(key, file) } };
}

/** Reads the files the flags name; undefined when neither flag is set. */
export function readVerificationKeys(files: {
  secretFile?: string;
  publicKeyFile?: string;
}): VerificationKeys | undefined {
  if (files.secretFile === undefined && files.publicKeyFile === undefined) return undefined;
  return {
    ...(files.secretFile === undefined ? {} : { secret: readSecret(files.secretFile) }),
    ...(files.publicKeyFile === undefined ? {} : readPublicKey(files.publicKeyFile)),
  };
}
