import { hookVerdict } from '../../src/master/auth/auth-hook';

const NOW = 1_800_000_000_000;

describe("--auth-url's answer", () => {
  test('200 with a user admits on those terms', () => {
    const body = JSON.stringify({ user: '42', channels: ['/user/42'], expire_at: 1_800_000_600 });
    const verdict = hookVerdict(200, body, NOW);
    expect(verdict).toMatchObject({
      kind: 'admit',
      identity: { user: '42', expiresAt: 1_800_000_600_000, claims: JSON.parse(body) },
    });
    expect(hookVerdict(200, '{"user":7}', NOW)).toMatchObject({
      kind: 'admit',
      identity: { user: '7', expiresAt: undefined, grants: [] },
    });
  });

  test('401 and 403 refuse with that status', () => {
    expect(hookVerdict(401, '', NOW)).toMatchObject({ kind: 'refuse', status: 401 });
    expect(hookVerdict(403, 'no', NOW)).toMatchObject({ kind: 'refuse', status: 403 });
  });

  test('an expire_at already past refuses with 401', () => {
    expect(hookVerdict(200, '{"user":"a","expire_at":1}', NOW)).toMatchObject({
      kind: 'refuse',
      status: 401,
      reason: 'token expired (auth backend)',
    });
  });

  test('anything else is a failing backend (503 for the client), with the detail', () => {
    expect(hookVerdict(500, '', NOW)).toEqual({ kind: 'failed', detail: 'answered 500' });
    expect(hookVerdict(302, '', NOW)).toEqual({ kind: 'failed', detail: 'answered 302' });
    for (const body of ['', 'ok', '[]', '{}', '{"user":""}', '{"user":{}}']) {
      expect(hookVerdict(200, body, NOW)).toMatchObject({ kind: 'failed' });
    }
    expect(hookVerdict(200, '{"user":"a","channels":"/x"}', NOW)).toMatchObject({
      kind: 'failed',
    });
    expect(hookVerdict(200, '{"user":"a","expire_at":"soon"}', NOW)).toMatchObject({
      kind: 'failed',
    });
  });
});
