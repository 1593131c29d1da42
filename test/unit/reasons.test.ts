import { AppCloseCode } from '../../src/shared/protocol/close-codes';
import { hookVerdict } from '../../src/master/auth/auth-hook';
import { subscriptionRequest } from '../../src/master/channels/subscription-request';
import { checkUpgradeRequest, type UpgradeRequest } from '../../src/shared/protocol/handshake';
import { CLOSE_CODE_NAME, REFUSAL_CODES, RefusalCode } from '../../src/shared/protocol/reasons';

describe('refusal codes', () => {
  test('every code is distinct and SCREAMING_SNAKE', () => {
    expect(new Set(REFUSAL_CODES).size).toBe(REFUSAL_CODES.length);
    for (const code of REFUSAL_CODES) expect(code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
  });

  // Each refusal names its code where it is made (none is read from its text): the
  // pure verdicts below carry the codes the logs and /metrics labels have always shown.
  const upgrade = (headers: Record<string, string>, method = 'GET'): UpgradeRequest => ({
    method,
    httpVersion: '1.1',
    headers: {
      host: 'example.com',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      ...headers,
    },
  });

  test.each([
    ['a foreign Origin', upgrade({ origin: 'http://evil.test' }), 403, 'ORIGIN_NOT_ALLOWED'],
    ['a POST', upgrade({}, 'POST'), 405, 'METHOD_NOT_ALLOWED'],
    ['version 8', upgrade({ 'sec-websocket-version': '8' }), 426, 'UPGRADE_REQUIRED'],
    ['a short key', upgrade({ 'sec-websocket-key': 'abc' }), 400, 'BAD_REQUEST'],
  ])('a handshake with %s is %i %s', (_what, request, status, code) => {
    const policy = { allowedOrigins: ['http://example.com'] };
    expect(checkUpgradeRequest(request, policy)).toMatchObject({ ok: false, status, code });
  });

  test.each([
    ['/news//x', RefusalCode.BadChannel],
    ['/news/%2F', RefusalCode.BadChannel],
    ['/news?format=xml', RefusalCode.BadRequest],
    ['/news?since=3', RefusalCode.BadRequest],
  ])('the channel request %s is refused as %s', (target, code) => {
    expect(subscriptionRequest(target)).toMatchObject({ ok: false, error: { code } });
  });

  test('the auth backend: 401, 403 and an expired session have their own codes', () => {
    const now = 1_800_000_000_000;
    expect(hookVerdict(401, '', now)).toMatchObject({ code: RefusalCode.Unauthorized });
    expect(hookVerdict(403, '', now)).toMatchObject({ code: RefusalCode.Forbidden });
    expect(hookVerdict(200, '{"user":"a","expire_at":1}', now)).toMatchObject({
      code: RefusalCode.TokenExpired,
    });
  });
});

describe('close code names', () => {
  test('every application close code has a distinct name', () => {
    const codes = Object.values(AppCloseCode);
    expect(Object.keys(CLOSE_CODE_NAME).map(Number).sort()).toEqual([...codes].sort());
    expect(new Set(Object.values(CLOSE_CODE_NAME)).size).toBe(codes.length);
  });
});
