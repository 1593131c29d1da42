import { splitHostPort } from '../../src/shared/host-port';
import { decodePathSegments, percentDecode, splitRequestTarget } from '../../src/shared/url-path';

describe('splitRequestTarget', () => {
  test.each([
    ['/', { path: '/', query: '' }],
    ['/a?b=1', { path: '/a', query: 'b=1' }],
    ['/a?b=1?c', { path: '/a', query: 'b=1?c' }],
    ['/a?', { path: '/a', query: '' }],
  ])('%s', (target, parts) => {
    expect(splitRequestTarget(target)).toEqual(parts);
  });
});

describe('percentDecode', () => {
  test.each([
    ['plain', 'plain'],
    ['a%20b', 'a b'],
    ['%C3%A9t%c3%a9', 'été'],
    ['%2F', '/'],
    ['%00', '\0'],
  ])('%s decodes', (text, decoded) => {
    expect(percentDecode(text)).toBe(decoded);
  });

  test.each(['%', '%4', '%zz', '%ff', '%C3', 'a%2'])('%s does not', (text) => {
    expect(percentDecode(text)).toBeUndefined();
  });
});

describe('decodePathSegments', () => {
  test.each([
    ['/', []],
    ['/a/b', ['a', 'b']],
    ['/a//b/', ['a', 'b']],
    ['/a%20b/c', ['a b', 'c']],
    ['/x.y/z..', ['x.y', 'z..']],
  ])('%s gives its segments', (path, segments) => {
    expect(decodePathSegments(path)).toEqual({ ok: true, value: segments });
  });

  test.each([
    ['..', '/a/../b'],
    ['encoded ..', '/a/%2e%2e/b'],
    ['.', '/a/./b'],
    ['hidden file', '/.env'],
    ['hidden directory', '/a/.git/config'],
    ['encoded hidden', '/%2eenv'],
    ['encoded slash', '/a%2fb'],
    ['encoded backslash', '/a%5c..%5cb'],
    ['backslash', '/a\\b'],
    ['NUL', '/a%00b'],
    ['bad escape', '/a%zz'],
    ['not UTF-8', '/a%ff'],
    ['relative', 'a/b'],
  ])('refuses %s', (_name, path) => {
    expect(decodePathSegments(path)).toMatchObject({ ok: false });
  });
});

describe('splitHostPort', () => {
  test.each([
    ['example.com', { host: 'example.com' }],
    ['Example.com:8080', { host: 'Example.com', port: '8080' }],
    ['example.com:', { host: 'example.com' }],
    ['[::1]', { host: '::1' }],
    ['[::1]:5001', { host: '::1', port: '5001' }],
    ['127.0.0.1:80', { host: '127.0.0.1', port: '80' }],
  ])('%s', (text, parts) => {
    expect(splitHostPort(text)).toEqual(parts);
  });

  test.each(['', ':80', '::1', 'a:b', 'a:123456', '[::1', '[::1]x', 'a b', 'u@h'])(
    '%p is not a host[:port]',
    (text) => {
      expect(splitHostPort(text)).toBeUndefined();
    },
  );
});
