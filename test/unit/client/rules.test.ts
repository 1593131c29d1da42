import fc from 'fast-check';
import {
  DEFAULT_BASE_MS,
  DEFAULT_MAX_MS,
  reconnectDelay,
  refusedStreamDelay,
  retryAfterMs,
} from '../../../src/client/lib/backoff';
import { channelOfPath } from '../../../src/client/lib/channel';
import {
  CLOSE_CODE_NAMES,
  CLOSE_DISCONNECTED,
  CLOSE_TOKEN_EXPIRED,
  CLOSE_MAX_LIFETIME,
  CLOSE_IDLE_TIMEOUT,
  CLOSE_SERVICE_RESTART,
  restartHintMs,
} from '../../../src/client/lib/close-codes';
import { AppCloseCode } from '../../../src/shared/protocol/close-codes';
import { CloseCode } from '../../../src/shared/protocol/constants';
import { restartClose } from '../../../src/master/drain/restart-close';
import { CLOSE_CODE_NAME } from '../../../src/shared/protocol/reasons';
import { parseChannel, readHello } from '../../../src/client/page/channel-text';
import { normaliseChannel } from '../../../src/shared/channel-name';

/** The client library's pure rules: channel names (the server's), back-off, Retry-After. */
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`client rules property seed: ${seed} (FC_SEED=${seed} to replay)`);

describe('the client names channels as the server does', () => {
  test('for any path, the client accepts exactly what the server accepts, with the same name', () => {
    const chars = fc.constantFrom(...'/%.~-_aZ09Ff2E7 é?#'.split(''));
    const raw = fc.array(chars, { maxLength: 24 }).map((list) => list.join(''));
    const paths = fc.oneof(
      raw,
      raw.map((rest) => '/' + rest),
      fc.integer({ min: 120, max: 135 }).map((length) => '/' + 'a'.repeat(length - 1)),
    );
    fc.assert(
      fc.property(paths, (candidate) => {
        const server = normaliseChannel(candidate);
        const client = channelOfPath(candidate);
        if (server.ok) expect(client).toEqual({ channel: server.value });
        else expect(client).toEqual({ error: expect.any(String) });
      }),
      { seed, numRuns: 2000 },
    );
  });

  test('the page: a URL fragment or a typed name gives the channel, or says why not', () => {
    expect(parseChannel('')).toEqual({ channel: '/' });
    expect(parseChannel('#')).toEqual({ channel: '/' });
    expect(parseChannel('#/news')).toEqual({ channel: '/news' });
    expect(parseChannel('#news/')).toEqual({ channel: '/news' });
    expect(parseChannel('  /news/sport ')).toEqual({ channel: '/news/sport' });
    expect(parseChannel('#/%7Enews')).toEqual({ channel: '/~news' });
    expect(parseChannel('/a b')).toEqual({
      error: expect.stringMatching(/character " " is not allowed/),
    });
    expect(parseChannel('#/a%2Fb')).toEqual({ error: '"%2F" is not allowed in a channel' });
    expect(parseChannel('/a/../b')).toEqual({ error: expect.stringMatching(/"\." and "\.\."/) });
    expect(parseChannel('//')).toEqual({ error: 'empty segment ("//")' });
  });

  test("the page: the worker's hello gives its PID and client id", () => {
    expect(readHello('Connected to worker PID 77 as client #3')).toEqual({ pid: '77', id: '3' });
    expect(readHello('I am waiting 3 seconds')).toBeUndefined();
  });
});

describe('reconnect back-off', () => {
  test('0.25-0.5 s first, doubling, never past 30 s; half fixed, half drawn', () => {
    expect(reconnectDelay(0, () => 0)).toBe(250);
    expect(reconnectDelay(0, () => 0.999999)).toBe(500);
    expect(reconnectDelay(1, () => 0)).toBe(500);
    expect(reconnectDelay(3, () => 0)).toBe(2000);
    expect(reconnectDelay(6, () => 0)).toBe(15000);
    expect(reconnectDelay(1000, () => 0.999999)).toBe(30000);
    expect(reconnectDelay(2, () => 0, { baseMs: 100, maxMs: 300 })).toBe(150);
  });

  test('every delay lies within [ceiling / 2, ceiling] of its attempt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, draw) => {
          const ceiling = Math.min(DEFAULT_MAX_MS, DEFAULT_BASE_MS * 2 ** Math.min(attempt, 20));
          const delay = reconnectDelay(attempt, () => draw);
          expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
      { seed },
    );
  });

  test("a refused stream's retry: no sooner than it, spread by up to half, within the back-off's bounds", () => {
    // The retry wins over a shorter back-off, plus a draw of up to half of it.
    expect(refusedStreamDelay(5000, 375, () => 0)).toBe(5000);
    expect(refusedStreamDelay(5000, 375, () => 0.5)).toBe(6250);
    // Never past the back-off's ceiling, never shorter than the back-off's own wait.
    expect(refusedStreamDelay(60000, 375, () => 0)).toBe(DEFAULT_MAX_MS);
    expect(refusedStreamDelay(5000, 375, () => 0, { maxMs: 4000 })).toBe(4000);
    expect(refusedStreamDelay(250, 3000, () => 0.9)).toBe(3000);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 600000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, attempt, draw) => {
          const backoff = reconnectDelay(attempt, () => draw);
          const delay = refusedStreamDelay(retry, backoff, () => draw);
          expect(delay).toBeGreaterThanOrEqual(Math.min(retry, DEFAULT_MAX_MS));
          expect(delay).toBeGreaterThanOrEqual(backoff);
          expect(delay).toBeLessThanOrEqual(Math.max(backoff, DEFAULT_MAX_MS));
        },
      ),
      { seed },
    );
  });

  test('Retry-After in seconds or as a date; nonsense ignored; at most 5 minutes', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('5', now)).toBe(5000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('86400', now)).toBe(300000);
    expect(retryAfterMs('-3', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});

describe('close codes', () => {
  test("the client's are the server's", () => {
    expect(CLOSE_TOKEN_EXPIRED).toBe(AppCloseCode.TokenExpired);
    expect(CLOSE_DISCONNECTED).toBe(AppCloseCode.Disconnected);
    expect(CLOSE_MAX_LIFETIME).toBe(AppCloseCode.MaxLifetime);
    expect(CLOSE_IDLE_TIMEOUT).toBe(AppCloseCode.IdleTimeout);
    expect(CLOSE_SERVICE_RESTART).toBe(CloseCode.ServiceRestart);
  });

  test("the client reads the drain's reconnect hint as the server writes it", () => {
    expect(restartHintMs(restartClose(734).reason)).toBe(734);
    expect(restartHintMs('service restart')).toBeUndefined();
    expect(restartHintMs('service restart; reconnect in 99999999 ms')).toBe(60000);
  });

  test("the client's close code names are the server's", () => {
    expect(CLOSE_CODE_NAMES).toEqual(CLOSE_CODE_NAME);
  });
});
