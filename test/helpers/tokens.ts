import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type JWTPayload,
  type KeyLike,
} from 'jose';

/** Signs tokens the way an app would, with jose: the tests' issuer. */
export interface Issuer {
  alg: string;
  /** The file the server is given (--auth-secret-file or --auth-public-key). */
  file: string;
  /** What is in that file, to check it never shows up anywhere. */
  secretText: string;
  sign(claims: JWTPayload, options?: { expiresInS?: number; header?: object }): Promise<string>;
}

function signer(alg: string, key: KeyLike | Uint8Array): Issuer['sign'] {
  return (claims, options = {}) => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg, ...options.header });
    if (claims.iat === undefined) jwt.setIssuedAt();
    if (claims.exp === undefined) {
      jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInS ?? 60));
    }
    return jwt.sign(key);
  };
}

/** An HS256 issuer whose secret (48 random bytes, base64) is written to DIR/secret. */
export function hs256Issuer(dir: string): Issuer {
  const secretText = randomBytes(48).toString('base64');
  const file = path.join(dir, 'secret');
  writeFileSync(file, `${secretText}\n`, { mode: 0o600 });
  return { alg: 'HS256', file, secretText, sign: signer('HS256', Buffer.from(secretText)) };
}

/** An issuer with a fresh key pair; the server gets DIR/NAME.pem (SPKI) or a JWKS. */
export async function keyPairIssuer(
  dir: string,
  alg: 'ES256' | 'RS256' | 'EdDSA',
  format: 'pem' | 'jwks' = 'pem',
): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { crv: 'Ed25519' });
  const file = path.join(dir, `${alg}.${format === 'pem' ? 'pem' : 'json'}`);
  const secretText =
    format === 'pem'
      ? await exportSPKI(publicKey)
      : JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: `${alg}-1`, alg }] });
  writeFileSync(file, secretText);
  const sign = signer(alg, privateKey);
  return {
    alg,
    file,
    secretText,
    sign:
      format === 'pem'
        ? sign
        : (claims, options) =>
            sign(claims, { ...options, header: { kid: `${alg}-1`, ...options?.header } }),
  };
}
