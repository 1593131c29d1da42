import fc from 'fast-check';
import {
  matchesAny,
  matchesPattern,
  parseChannelPattern,
  type ChannelPattern,
} from '../../src/master/auth/channel-patterns';
import { unwrap } from '../../src/shared/result';

function pattern(text: string): ChannelPattern {
  return unwrap(parseChannelPattern(text), text);
}

describe('channel patterns', () => {
  test('a literal pattern matches that channel alone', () => {
    expect(matchesPattern(pattern('/user/42'), '/user/42')).toBe(true);
    expect(matchesPattern(pattern('/user/42/'), '/user/42')).toBe(true);
    expect(matchesPattern(pattern('/user/42'), '/user/421')).toBe(false);
    expect(matchesPattern(pattern('/user/42'), '/user/42/inbox')).toBe(false);
    expect(matchesPattern(pattern('/'), '/')).toBe(true);
    expect(matchesPattern(pattern('/'), '/news')).toBe(false);
  });

  test('* is exactly one segment', () => {
    const user = pattern('/user/*');
    expect(matchesPattern(user, '/user/42')).toBe(true);
    expect(matchesPattern(user, '/user')).toBe(false);
    expect(matchesPattern(user, '/user/42/inbox')).toBe(false);
    expect(matchesPattern(pattern('/*/inbox'), '/42/inbox')).toBe(true);
    expect(matchesPattern(pattern('/*'), '/')).toBe(false);
  });

  test('** as the last segment is one segment or more', () => {
    const team = pattern('/team/7/**');
    expect(matchesPattern(team, '/team/7/a')).toBe(true);
    expect(matchesPattern(team, '/team/7/a/b/c')).toBe(true);
    expect(matchesPattern(team, '/team/7')).toBe(false);
    expect(matchesPattern(team, '/team/8/a')).toBe(false);
    expect(matchesPattern(pattern('/**'), '/anything/at/all')).toBe(true);
    expect(matchesPattern(pattern('/**'), '/')).toBe(false);
  });

  test('a bad pattern is refused with the reason', () => {
    expect(parseChannelPattern('user/*')).toEqual({
      ok: false,
      error: expect.stringContaining('"/"'),
    });
    expect(parseChannelPattern('/a/**/b')).toEqual({
      ok: false,
      error: expect.stringContaining('last segment'),
    });
    expect(parseChannelPattern('/user*')).toEqual({
      ok: false,
      error: expect.stringContaining('"*"'),
    });
    expect(parseChannelPattern('/a//b')).toEqual({
      ok: false,
      error: expect.stringContaining('empty'),
    });
    expect(parseChannelPattern('/a/../b')).toHaveProperty('error');
  });

  test('patterns are normalised as channels are', () => {
    expect(pattern('/%7Enews/*/').text).toBe('/~news/*');
  });

  test('property: a literal pattern made from a channel matches it, and * stands for any segment', () => {
    const segment = fc.stringMatching(/^[a-z0-9_~-]{1,8}$/).filter((s) => s !== '*');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.nat(), (parts, at) => {
        const channel = `/${parts.join('/')}`;
        expect(matchesAny([pattern(channel)], channel)).toBe(true);
        const starred = parts.map((part, index) => (index === at % parts.length ? '*' : part));
        expect(matchesPattern(pattern(`/${starred.join('/')}`), channel)).toBe(true);
        expect(matchesPattern(pattern(`/${starred.join('/')}`), `${channel}/more`)).toBe(false);
        expect(matchesPattern(pattern(`/${parts[0]}/**`), channel)).toBe(parts.length > 1);
      }),
      { seed: 22, numRuns: 200 },
    );
  });
});
