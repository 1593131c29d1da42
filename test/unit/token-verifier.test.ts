import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import { readVerificationKeys } from '../../src/master/auth/keys';
import { TokenVerifier, type TokenRules } from '../../src/master/auth/token-verifier';
import { UsageError } from '../../src/master/cli/usage-error';
import { hs256Issuer, keyPairIssuer, type Issuer } from '../helpers/tokens';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'push-ws-tokens-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RULES: TokenRules = { leewayS: 0 };
const now = (): number => Math.floor(Date.now() / 1000);

function verifierOf(files: { secretFile?: string; publicKeyFile?: string }, rules = RULES) {
  const keys = readVerificationKeys(files);
  if (keys === undefined) throw new Error('no keys');
  return new TokenVerifier(keys, rules);
}

describe.each([
  ['HS256', () => hs256Issuer(dir), 'secretFile'],
  ['ES256', () => keyPairIssuer(dir, 'ES256'), 'publicKeyFile'],
  ['RS256', () => keyPairIssuer(dir, 'RS256'), 'publicKeyFile'],
  ['EdDSA', () => keyPairIssuer(dir, 'EdDSA'), 'publicKeyFile'],
  ['ES256 in a JWKS', () => keyPairIssuer(dir, 'ES256', 'jwks'), 'publicKeyFile'],
] as const)('%s tokens', (_name, makeIssuer, flag) => {
  let issuer: Issuer;
  let verifier: TokenVerifier;
  beforeAll(async () => {
    issuer = await makeIssuer();
    verifier = verifierOf({ [flag]: issuer.file });
  });

  test('a good token gives its user, claims, grants and expiry (exp + leeway)', async () => {
    const exp = now() + 120;
    const token = await issuer.sign({ sub: '42', exp, channels: ['/user/42', '/team/*'] });
    const verdict = await verifier.verify(token);
    expect(verdict).toMatchObject({
      ok: true,
      identity: { user: '42', claims: { sub: '42', exp }, expiresAt: exp * 1000 },
    });
    if (!verdict.ok) return;
    expect(verdict.identity.grants.map((grant) => grant.text)).toEqual(['/user/42', '/team/*']);
  });

  test('an expired token, a token without exp or sub: 401 reasons that say which', async () => {
    const expired = await issuer.sign({ sub: '42', exp: now() - 10 });
    expect(await verifier.verify(expired)).toEqual({
      ok: false,
      code: 'TOKEN_EXPIRED',
      reason: 'token expired',
    });
    expect(await verifier.verify(await issuer.sign({ exp: now() + 60 }))).toEqual({
      ok: false,
      code: 'UNAUTHORIZED',
      reason: 'bad token (no sub claim)',
    });
  });

  test('a token signed by another key is refused', async () => {
    const other = await keyPairIssuer(dir, 'ES256');
    const verdict = await verifier.verify(await other.sign({ sub: '42' }));
    expect(verdict.ok).toBe(false);
  });
});

describe('claims checks', () => {
  let issuer: Issuer;
  beforeAll(() => {
    issuer = hs256Issuer(dir);
  });

  test('nbf and iat in the future are refused, unless within the leeway', async () => {
    const nbf = await issuer.sign({ sub: 'u', nbf: now() + 30 });
    expect(await verifierOf({ secretFile: issuer.file }).verify(nbf)).toEqual({
      ok: false,
      code: 'UNAUTHORIZED',
      reason: 'token not yet valid',
    });
    const leeway = verifierOf({ secretFile: issuer.file }, { leewayS: 60 });
    expect((await leeway.verify(nbf)).ok).toBe(true);
    const iat = await issuer.sign({ sub: 'u', iat: now() + 30 });
    expect(await verifierOf({ secretFile: issuer.file }).verify(iat)).toEqual({
      ok: false,
      code: 'UNAUTHORIZED',
      reason: 'token not yet valid (iat in the future)',
    });
    expect((await leeway.verify(iat)).ok).toBe(true);
  });

  test('an expired token within the leeway passes, and its connection ends at exp + leeway', async () => {
    const exp = now() - 5;
    const verdict = await verifierOf({ secretFile: issuer.file }, { leewayS: 30 }).verify(
      await issuer.sign({ sub: 'u', exp }),
    );
    expect(verdict).toMatchObject({ ok: true, identity: { expiresAt: (exp + 30) * 1000 } });
  });

  test('aud and iss are checked when set', async () => {
    const verifier = verifierOf(
      { secretFile: issuer.file },
      { leewayS: 0, audience: 'push', issuer: 'https://app.example' },
    );
    const good = await issuer.sign({ sub: 'u', aud: 'push', iss: 'https://app.example' });
    expect((await verifier.verify(good)).ok).toBe(true);
    expect(
      await verifier.verify(await issuer.sign({ sub: 'u', iss: 'https://app.example' })),
    ).toEqual({ ok: false, code: 'UNAUTHORIZED', reason: 'bad token (no aud claim)' });
    expect(
      await verifier.verify(
        await issuer.sign({ sub: 'u', aud: 'other', iss: 'https://app.example' }),
      ),
    ).toEqual({ ok: false, code: 'UNAUTHORIZED', reason: 'bad token (wrong audience)' });
    expect(
      await verifier.verify(await issuer.sign({ sub: 'u', aud: 'push', iss: 'https://evil' })),
    ).toEqual({ ok: false, code: 'UNAUTHORIZED', reason: 'bad token (wrong issuer)' });
  });

  test('a channels claim that is not a list of patterns refuses the token', async () => {
    const verifier = verifierOf({ secretFile: issuer.file });
    for (const channels of ['/user/42', [42], ['user/*'], ['/a/**/b']]) {
      const verdict = await verifier.verify(await issuer.sign({ sub: 'u', channels }));
      expect(verdict).toMatchObject({ ok: false, reason: expect.stringMatching(/^bad token/) });
    }
  });

  test('a numeric sub is taken as its text; an empty or object sub is refused', async () => {
    const verifier = verifierOf({ secretFile: issuer.file });
    expect(
      await verifier.verify(await issuer.sign({ sub: 42 as unknown as string })),
    ).toMatchObject({ ok: true, identity: { user: '42' } });
    expect((await verifier.verify(await issuer.sign({ sub: '' }))).ok).toBe(false);
  });

  test('alg "none", and HS256 made with the public key as secret, are refused', async () => {
    const es = await keyPairIssuer(dir, 'ES256');
    const verifier = verifierOf({ publicKeyFile: es.file });
    const unsecured = new UnsecuredJWT({ sub: 'admin' }).setExpirationTime('1h').encode();
    expect(await verifier.verify(unsecured)).toMatchObject({ ok: false });
    const confused = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(Buffer.from(es.secretText));
    expect(await verifier.verify(confused)).toEqual({
      ok: false,
      code: 'UNAUTHORIZED',
      reason: 'bad token (algorithm not accepted)',
    });
  });

  test('garbage and over-long tokens are refused without quoting them', async () => {
    const verifier = verifierOf({ secretFile: issuer.file });
    for (const token of ['garbage', 'a.b.c', 'x'.repeat(10_000)]) {
      const verdict = await verifier.verify(token);
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.reason).not.toContain(token.slice(0, 5));
    }
  });
});

describe('key files', () => {
  const usage = (files: { secretFile?: string; publicKeyFile?: string }): string => {
    try {
      readVerificationKeys(files);
    } catch (error) {
      if (error instanceof UsageError) return error.message;
      throw error;
    }
    return 'no error';
  };

  test('an unreadable file, a short secret, a private key, junk: one line naming the file', () => {
    expect(usage({ secretFile: path.join(dir, 'missing') })).toBe(
      `--auth-secret-file: cannot read ${JSON.stringify(path.join(dir, 'missing'))}: ENOENT`,
    );
    const short = path.join(dir, 'short');
    writeFileSync(short, 'too-short-secret\n');
    expect(usage({ secretFile: short })).toMatch(/is 16 bytes; HS256 needs 32 at least$/);
    const junk = path.join(dir, 'junk.pem');
    writeFileSync(junk, 'not a key');
    expect(usage({ publicKeyFile: junk })).toMatch(/holds no PEM public key/);
    const badJson = path.join(dir, 'bad.json');
    writeFileSync(badJson, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
    expect(usage({ publicKeyFile: badJson })).toMatch(/is not a public RSA, EC or OKP key/);
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateFile = path.join(dir, 'private.pem');
    writeFileSync(privateFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(usage({ publicKeyFile: privateFile })).toMatch(/holds a private key/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const smallFile = path.join(dir, 'small.pem');
    writeFileSync(smallFile, small.publicKey.export({ type: 'spki', format: 'pem' }));
    expect(usage({ publicKeyFile: smallFile })).toMatch(/under 2048 bits/);
  });

  test('no message quotes what the file holds', () => {
    const short = path.join(dir, 'short-secret');
    writeFileSync(short, 'do-not-print-me');
    expect(usage({ secretFile: short })).not.toContain('do-not-print-me');
  });
});
