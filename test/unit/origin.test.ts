import { checkUpgradeRequest } from '../../src/shared/protocol/handshake';
import { checkOrigin, parseOriginRule } from '../../src/shared/protocol/origin';

describe('parseOriginRule', () => {
  test.each([
    ['example.com', { host: 'example.com' }],
    ['Example.com:8080', { host: 'example.com', port: '8080' }],
    ['https://Example.com', { scheme: 'https', host: 'example.com' }],
    ['HTTP://example.com:80/', { scheme: 'http', host: 'example.com', port: '80' }],
    ['[::1]', { host: '::1' }],
    ['http://[::1]:5001', { scheme: 'http', host: '::1', port: '5001' }],
  ])('%s', (entry, rule) => {
    expect(parseOriginRule(entry)).toEqual({ scheme: undefined, port: undefined, ...rule });
  });

  test.each(['', 'https://', 'a:b:c', 'example.com:http', 'https://example.com/path', 'u@h'])(
    '%p is refused',
    (entry) => {
      expect(parseOriginRule(entry)).toBeUndefined();
    },
  );
});

describe('--origin (the rules websocketd 0.4.1 applies, checked against the binary)', () => {
  const allowed = ['https://example.com', 'b.test:8080', 'c.test', 'd.test:80', '[::1]'];
  test.each([
    ['https://example.com', true],
    ['https://example.com:9', true], // no port in the entry: any port
    ['http://example.com', false], // the entry's scheme must match
    ['http://b.test:8080', true], // no scheme in the entry: any scheme
    ['https://b.test:8080', true],
    ['http://b.test', false], // port 80 by default, not 8080
    ['http://c.test:1234', true],
    ['https://c.test', true],
    ['http://d.test', true], // explicit :80 is exact, and 80 is http's default
    ['https://d.test:80', true],
    ['https://d.test', false], // 443 by default
    ['http://[::1]', true],
    ['http://evil.test', false],
    ['http://example.com.evil.test', false],
    ['null', false],
    ['example.com', false], // not an origin: no scheme
  ])('Origin %s: %s', (origin, ok) => {
    expect(checkOrigin(origin, 'x', { allowed }).ok).toBe(ok);
  });

  test('host names compare case-insensitively (websocketd: case-sensitively)', () => {
    expect(checkOrigin('https://example.com', 'x', { allowed: ['https://Example.COM'] }).ok).toBe(
      true,
    );
    expect(checkOrigin('HTTPS://EXAMPLE.com', 'x', { allowed: ['example.com'] }).ok).toBe(true);
  });

  test('"[::1]" matches any port (websocketd: never with a port)', () => {
    expect(checkOrigin('http://[::1]:99', 'x', { allowed: ['[::1]'] }).ok).toBe(true);
  });

  test('a missing Origin is refused with a reason saying so', () => {
    expect(checkOrigin(undefined, 'x', { allowed })).toEqual({
      ok: false,
      reason: 'Origin header required',
    });
    expect(checkOrigin('  ', 'x', { allowed }).ok).toBe(false);
  });

  test('no policy: any Origin, or none, passes', () => {
    expect(checkOrigin(undefined, undefined, {}).ok).toBe(true);
    expect(checkOrigin('null', 'x', { allowed: [] }).ok).toBe(true);
  });
});

describe('--same-origin', () => {
  const policy = { sameOrigin: true };
  test.each([
    ['http://a.test', 'a.test', true],
    ['http://a.test:80', 'a.test', true],
    ['https://a.test:80', 'a.test', true], // only host and port count
    ['http://a.test:81', 'a.test', false],
    ['https://a.test', 'a.test', false], // 443 against 80
    ['http://a.test:8080', 'a.test:8080', true],
    ['http://A.test', 'a.TEST', true], // websocketd: refused
    ['http://b.test', 'a.test', false],
    ['http://[::1]:5001', '[::1]:5001', true],
    ['null', 'a.test', false],
  ])('Origin %s, Host %s: %s', (origin, host, ok) => {
    expect(checkOrigin(origin, host, policy).ok).toBe(ok);
  });

  test('over TLS, a Host without port is 443', () => {
    expect(checkOrigin('https://a.test', 'a.test', { ...policy, secure: true }).ok).toBe(true);
    expect(checkOrigin('http://a.test', 'a.test', { ...policy, secure: true }).ok).toBe(false);
  });

  test('no Origin, or no usable Host, is refused', () => {
    expect(checkOrigin(undefined, 'a.test', policy).ok).toBe(false);
    expect(checkOrigin('http://a.test', undefined, policy).ok).toBe(false);
    expect(checkOrigin('http://a.test', 'a:b:c', policy)).toEqual({
      ok: false,
      reason: 'Origin does not match Host',
    });
  });

  test('with --origin too, both must hold', () => {
    const both = { sameOrigin: true, allowed: ['a.test'] };
    expect(checkOrigin('http://a.test', 'a.test', both).ok).toBe(true);
    expect(checkOrigin('http://b.test', 'b.test', both).ok).toBe(false);
  });
});

describe('the handshake applies the origin policy', () => {
  const request = (headers: Record<string, string>) => ({
    method: 'GET',
    httpVersion: '1.1',
    headers: {
      host: 'example.com:5001',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      ...headers,
    },
  });

  test('--same-origin: 403 with the reason, or the handshake goes on', () => {
    expect(
      checkUpgradeRequest(request({ origin: 'http://evil.test:5001' }), { sameOrigin: true }),
    ).toMatchObject({ ok: false, status: 403, reason: 'Origin does not match Host' });
    expect(
      checkUpgradeRequest(request({ origin: 'http://example.com:5001' }), { sameOrigin: true }).ok,
    ).toBe(true);
  });

  test('--origin host:port entries', () => {
    const policy = { allowedOrigins: ['example.com:5001'] };
    expect(checkUpgradeRequest(request({ origin: 'http://example.com:5001' }), policy).ok).toBe(
      true,
    );
    expect(checkUpgradeRequest(request({ origin: 'http://example.com' }), policy)).toMatchObject({
      status: 403,
    });
  });
});
