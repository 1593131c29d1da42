import fc from 'fast-check';
import {
  BROADCAST_CHANNEL,
  isBrokerChannel,
  isChannelName,
  MAX_CHANNEL_BYTES,
  normaliseChannel,
} from '../../src/shared/channel-name';

describe('a client channel is its URL path, normalised', () => {
  test.each([
    ['/', '/'],
    ['/news', '/news'],
    ['/news/', '/news'],
    ['/news/sport', '/news/sport'],
    ['/news/sport/', '/news/sport'],
    ['/a.b_c~d-e/0', '/a.b_c~d-e/0'],
    ['/News', '/News'],
    ['/.well-known', '/.well-known'],
    ['/...', '/...'],
    ['/%7Enews', '/~news'],
    ['/%6e%65%77%73', '/news'],
    ['/%2E%2E%2E', '/...'],
  ])('%s is channel %s', (path, channel) => {
    expect(normaliseChannel(path)).toEqual({ ok: true, value: channel });
  });

  test.each([
    ['', /start with "\/"/],
    ['news', /start with "\/"/],
    ['//', /empty segment/],
    ['/news//', /empty segment/],
    ['//news', /empty segment/],
    ['/a//b', /empty segment/],
    ['/.', /"\." and "\.\."/],
    ['/..', /"\." and "\.\."/],
    ['/a/../b', /"\." and "\.\."/],
    ['/a/./b', /"\." and "\.\."/],
    ['/%2E%2E', /"\." and "\.\."/],
    ['/%2e', /"\." and "\.\."/],
    ['/a%2Fb', /%2F" is not allowed/],
    ['/a%2fb', /%2F" is not allowed/],
    ['/%20', /%20" is not allowed/],
    ['/%C3%A9', /%C3" is not allowed/],
    ['/%00', /%00" is not allowed/],
    ['/%', /bad percent-encoding/],
    ['/%4', /bad percent-encoding/],
    ['/%zz', /bad percent-encoding/],
    ['/a b', /character " " not allowed/],
    ['/a?b', /character "\?" not allowed/],
    ['/café', /character "é" not allowed/],
    ['/a\\b', /character "\\\\" not allowed/],
    ['/a:b', /character ":" not allowed/],
  ])('%j is refused with a reason', (path, reason) => {
    const result = normaliseChannel(path);
    expect(result).toEqual({ ok: false, error: expect.stringMatching(reason) });
  });

  test(`at most ${MAX_CHANNEL_BYTES} bytes after normalising`, () => {
    const longest = '/' + 'a'.repeat(MAX_CHANNEL_BYTES - 1);
    expect(normaliseChannel(longest)).toEqual({ ok: true, value: longest });
    expect(normaliseChannel(longest + '/')).toEqual({ ok: true, value: longest });
    expect(normaliseChannel(longest + 'a')).toEqual({
      ok: false,
      error: expect.stringMatching(/128 bytes/),
    });
    // Decoding shortens: three bytes of escape are one byte of channel.
    expect(normaliseChannel('/' + '%61'.repeat(MAX_CHANNEL_BYTES - 1))).toEqual({
      ok: true,
      value: longest,
    });
  });

  test('normalising is idempotent, and a channel is at most 128 ASCII bytes (property)', () => {
    const seed = Date.now() % 2 ** 31;
    console.log(`channel-name property seed ${seed}`);
    const piece = fc.constantFrom(
      '/',
      'a',
      'Z',
      '9',
      '.',
      '..',
      '-',
      '_',
      '~',
      '%2e',
      '%41',
      '%2F',
      ' ',
      'é',
      '%',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        const named = normaliseChannel(pieces.join(''));
        if (!named.ok) return;
        const result = named.value;
        expect(normaliseChannel(result)).toEqual({ ok: true, value: result });
        expect(isChannelName(result)).toBe(true);
        expect(Buffer.byteLength(result)).toBeLessThanOrEqual(MAX_CHANNEL_BYTES);
        expect(result).toMatch(/^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/);
      }),
      { seed, numRuns: 2000 },
    );
  });

  test('the broadcast channel is reserved: no path normalises to it', () => {
    expect(normaliseChannel(BROADCAST_CHANNEL).ok).toBe(false);
    expect(isBrokerChannel(BROADCAST_CHANNEL)).toBe(true);
    expect(isBrokerChannel('/news')).toBe(true);
    expect(isBrokerChannel('/news/')).toBe(false);
    expect(isBrokerChannel('news')).toBe(false);
  });
});
