import { AppCloseCode } from '../../src/shared/protocol/close-codes';
import {
  CLOSE_CODE_NAME,
  REFUSAL_CODES,
  RefusalCode,
  refusalCode,
} from '../../src/shared/protocol/reasons';

describe('refusal codes', () => {
  test('every code is distinct and SCREAMING_SNAKE', () => {
    expect(new Set(REFUSAL_CODES).size).toBe(REFUSAL_CODES.length);
    for (const code of REFUSAL_CODES) expect(code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
  });

  test.each([
    [403, 'Origin not allowed', RefusalCode.OriginNotAllowed],
    [403, 'Origin does not match Host', RefusalCode.OriginNotAllowed],
    [403, 'Origin header required', RefusalCode.OriginNotAllowed],
    [403, 'forbidden (auth backend)', RefusalCode.Forbidden],
    [503, 'Server full (3 clients)', RefusalCode.ServerFull],
    [503, 'No worker available, try again later', RefusalCode.NoWorker],
    [
      503,
      'History unavailable, cannot recover now: come back with the same since',
      RefusalCode.HistoryUnavailable,
    ],
    [503, 'draining', RefusalCode.Unavailable],
    [503, 'Not published: redis down', RefusalCode.NotPublished],
    [503, 'Not disconnected: redis down', RefusalCode.NotDisconnected],
    [401, 'token expired (auth backend)', RefusalCode.TokenExpired],
    [401, 'no token', RefusalCode.Unauthorized],
    [400, 'Bad channel: too long', RefusalCode.BadChannel],
    [400, 'Sec-WebSocket-Key must be base64 of 16 bytes', RefusalCode.BadRequest],
    [404, 'Not found', RefusalCode.NotFound],
    [405, 'Method not allowed', RefusalCode.MethodNotAllowed],
    [408, 'Request timeout', RefusalCode.Timeout],
    [413, 'Body over --max-message-size (10 bytes)', RefusalCode.BodyTooLarge],
    [431, 'Request header fields too large', RefusalCode.HeadersTooLarge],
    [422, 'Not published: bad idempotency key', RefusalCode.NotPublished],
    [426, 'Upgrade required', RefusalCode.UpgradeRequired],
    [429, 'Too many connections from 10.0.0.1', RefusalCode.RateLimited],
    [418, 'teapot', RefusalCode.ClientError],
    [500, 'Internal server error', RefusalCode.ServerError],
  ])('%i %s is %s', (status, reason, code) => {
    expect(refusalCode(status, reason)).toBe(code);
  });
});

describe('close code names', () => {
  test('every application close code has a distinct name', () => {
    const codes = Object.values(AppCloseCode);
    expect(Object.keys(CLOSE_CODE_NAME).map(Number).sort()).toEqual([...codes].sort());
    expect(new Set(Object.values(CLOSE_CODE_NAME)).size).toBe(codes.length);
  });
});
