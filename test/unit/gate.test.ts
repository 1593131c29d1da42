import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuthHook, HookRequest, HookVerdict } from '../../src/master/auth/auth-hook';
import { parseChannelPattern, type ChannelPattern } from '../../src/master/auth/channel-patterns';
import { unwrap } from '../../src/shared/result';
import { Gate, type GateOptions } from '../../src/master/auth/gate';
import { readVerificationKeys } from '../../src/master/auth/keys';
import { TokenVerifier } from '../../src/master/auth/token-verifier';
import { hs256Issuer, type Issuer } from '../helpers/tokens';

/** A stand-in for the app behind --auth-url: answers as told, records what it was asked. */
function hook(verdict: HookVerdict): AuthHook & { asked: HookRequest[] } {
  const asked: HookRequest[] = [];
  return Object.assign(Object.create(null) as AuthHook, {
    asked,
    ask: (request: HookRequest) => {
      asked.push(request);
      return Promise.resolve(verdict);
    },
  });
}

const patterns = (...texts: string[]): ChannelPattern[] =>
  texts.map((text) => unwrap(parseChannelPattern(text), text));

let dir: string;
let issuer: Issuer;
let verifier: TokenVerifier;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'push-ws-gate-'));
  issuer = hs256Issuer(dir);
  verifier = new TokenVerifier(readVerificationKeys({ secretFile: issuer.file })!, {
    leewayS: 0,
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gate(options: Partial<GateOptions>): Gate {
  return new Gate({ privateChannels: patterns('/user/*'), allowAnonymous: false, ...options });
}

const request = (target: string, headers = {}) => ({
  target,
  headers,
  address: '192.0.2.1',
  channel: target.split('?')[0],
});

describe('the gate', () => {
  test('keys and --auth-url together: a token decides, the app is asked only without one', async () => {
    const app = hook({
      kind: 'admit',
      identity: { user: 'app-user', claims: {}, grants: [], expiresAt: undefined },
    });
    const both = gate({ verifier, hook: app });
    const token = await issuer.sign({ sub: 'token-user', channels: ['/user/1'] });
    expect(await both.admit(request(`/user/1?token=${token}`))).toMatchObject({
      ok: true,
      identity: { user: 'token-user' },
    });
    expect(app.asked).toHaveLength(0);
    expect(await both.admit(request('/news', { cookie: 's=1' }))).toMatchObject({
      ok: true,
      identity: { user: 'app-user' },
    });
    expect(app.asked).toEqual([
      expect.objectContaining({ path: '/news', channel: '/news', cookie: 's=1' }),
    ]);
    // The app's grants are none: its user is refused a private channel.
    expect(await both.admit(request('/user/1'))).toMatchObject({ ok: false, status: 403 });
    // A bad token is refused, not passed to the app.
    expect(await both.admit(request('/news?token=bad'))).toMatchObject({ ok: false, status: 401 });
    expect(app.asked).toHaveLength(2);
  });

  test('--allow-anonymous: no token reaches the channels that are not private only', async () => {
    const open = gate({ verifier, allowAnonymous: true });
    expect(await open.admit(request('/news'))).toEqual({ ok: true, identity: undefined });
    expect(await open.admit(request('/user/1'))).toMatchObject({
      ok: false,
      status: 401,
      code: 'UNAUTHORIZED',
      reason: 'no token (the channel is private)',
    });
    expect(await gate({ verifier }).admit(request('/news'))).toMatchObject({
      ok: false,
      status: 401,
      reason: 'no token',
    });
  });

  test('the app failing is a 503 with Retry-After and the detail for the log', async () => {
    const failing = gate({ hook: hook({ kind: 'failed', detail: 'answered 500' }) });
    expect(await failing.admit(request('/news'))).toEqual({
      ok: false,
      status: 503,
      code: 'UNAVAILABLE',
      reason: 'Authentication unavailable, try again later',
      headers: { 'Retry-After': '5' },
      detail: '--auth-url answered 500',
    });
  });
});
