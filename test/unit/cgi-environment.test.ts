import { cgiEnvironment, headerVariables } from '../../workers/cgi-environment';
import { DEFAULT_PASSENV, parsePassenv, passEnvironment } from '../../src/shared/pass-environment';
import type { RequestFacts } from '../../src/shared/ipc';

const OPTIONS = { clientId: 7, serverSoftware: 'push-websocket/0.1.0' };

function facts(overrides: Partial<RequestFacts> = {}): RequestFacts {
  return {
    remoteAddress: '127.0.0.1',
    remotePort: 40000,
    serverPort: 5001,
    url: '/news/today?lang=en&q=a%20b',
    method: 'GET',
    httpVersion: '1.1',
    serverName: '127.0.0.1',
    headers: [
      ['Host', 'Example.com:8080'],
      ['Upgrade', 'websocket'],
      ['Origin', 'http://example.com'],
      ['User-Agent', 'test-agent'],
    ],
    ...overrides,
  };
}

describe('cgiEnvironment', () => {
  test('gives the CGI set websocketd gives, from the request', () => {
    const env = cgiEnvironment(facts(), {}, OPTIONS);
    expect(env).toMatchObject({
      SERVER_SOFTWARE: 'push-websocket/0.1.0',
      SERVER_NAME: 'Example.com',
      SERVER_PORT: '8080',
      SERVER_PROTOCOL: 'HTTP/1.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/',
      PATH_INFO: '/news/today',
      PATH_TRANSLATED: '/news/today',
      QUERY_STRING: 'lang=en&q=a%20b',
      REQUEST_URI: '/news/today?lang=en&q=a%20b',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_HOST: '127.0.0.1',
      REMOTE_PORT: '40000',
      AUTH_TYPE: '',
      CONTENT_LENGTH: '',
      CONTENT_TYPE: '',
      REMOTE_IDENT: '',
      REMOTE_USER: '',
      PUSH_WS_CLIENT_ID: '7',
      HTTP_HOST: 'Example.com:8080',
      HTTP_UPGRADE: 'websocket',
      HTTP_ORIGIN: 'http://example.com',
      HTTP_USER_AGENT: 'test-agent',
    });
    expect(env.HTTPS).toBeUndefined();
  });

  test('PATH_INFO is decoded, REQUEST_URI and QUERY_STRING are as sent', () => {
    const env = cgiEnvironment(facts({ url: '/a%20b/%C3%A9?x=%41' }), {}, OPTIONS);
    expect(env.PATH_INFO).toBe('/a b/é');
    expect(env.REQUEST_URI).toBe('/a%20b/%C3%A9?x=%41');
    expect(env.QUERY_STRING).toBe('x=%41');
  });

  test('a path whose escapes do not decode is kept as sent', () => {
    expect(cgiEnvironment(facts({ url: '/bad%zz%ff' }), {}, OPTIONS).PATH_INFO).toBe('/bad%zz%ff');
  });

  test('with --dir, SCRIPT_NAME and PATH_INFO come from the route', () => {
    const env = cgiEnvironment(
      facts({ url: '/chat/room/1', scriptName: '/chat', pathInfo: '/room/1' }),
      {},
      OPTIONS,
    );
    expect(env).toMatchObject({
      SCRIPT_NAME: '/chat',
      PATH_INFO: '/room/1',
      PATH_TRANSLATED: '/chat/room/1',
    });
  });

  test.each([
    ['no port: 80', 'example.com', false, ['example.com', '80']],
    ['no port over TLS: 443', 'example.com', true, ['example.com', '443']],
    ['IPv6 with port', '[::1]:5001', false, ['::1', '5001']],
    ['IPv6 without port', '[::1]', false, ['::1', '80']],
  ])('SERVER_NAME/SERVER_PORT from Host: %s', (_name, host, https, [name, port]) => {
    const env = cgiEnvironment(facts({ headers: [['Host', host]], https }), {}, OPTIONS);
    expect([env.SERVER_NAME, env.SERVER_PORT]).toEqual([name, port]);
    expect(env.HTTPS).toBe(https ? 'on' : undefined);
  });

  test.each([
    ['no Host header', []],
    ['an unusable Host header', [['Host', 'a:b:c']]],
  ] as [string, [string, string][]][])(
    'with %s, the listening address and port',
    (_name, headers) => {
      const env = cgiEnvironment(facts({ headers }), {}, OPTIONS);
      expect([env.SERVER_NAME, env.SERVER_PORT]).toEqual(['127.0.0.1', '5001']);
    },
  );

  test('REMOTE_HOST is the looked-up name when there is one', () => {
    expect(cgiEnvironment(facts({ remoteHost: 'localhost' }), {}, OPTIONS).REMOTE_HOST).toBe(
      'localhost',
    );
  });

  test('inherited CGI names are overridden or blanked, inherited HTTP_* and HTTPS dropped', () => {
    const passed = {
      PATH: '/usr/bin',
      REMOTE_ADDR: '6.6.6.6',
      REMOTE_USER: 'root',
      CONTENT_LENGTH: '12',
      SERVER_SOFTWARE: 'spoofed',
      PUSH_WS_CLIENT_ID: '999',
      HTTPS: 'on',
      HTTP_X_TRUSTED: 'yes',
      HTTP_PROXY: 'http://proxy.internal:3128',
    };
    const env = cgiEnvironment(facts(), passed, OPTIONS);
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_USER: '',
      CONTENT_LENGTH: '',
      SERVER_SOFTWARE: 'push-websocket/0.1.0',
      PUSH_WS_CLIENT_ID: '7',
      HTTP_PROXY: 'http://proxy.internal:3128',
    });
    expect(env.HTTPS).toBeUndefined();
    expect(env.HTTP_X_TRUSTED).toBeUndefined();
  });

  test('secrets handed in by mistake never reach the command', () => {
    const env = cgiEnvironment(
      facts(),
      { PUSH_WS_PUBLISH_TOKEN: 't', PUSH_WS_ADMIN_TOKEN: 'a', PUSH_WS_REDIS: 'redis://x' },
      OPTIONS,
    );
    expect(Object.keys(env).filter((name) => name.startsWith('PUSH_WS_'))).toEqual([
      'PUSH_WS_CLIENT_ID',
    ]);
  });

  test('a request without Host: SERVER_NAME and SERVER_PORT are the listening ones', () => {
    const env = cgiEnvironment(facts({ headers: [['Origin', 'http://example.com']] }), {}, OPTIONS);
    expect(env).toMatchObject({
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: '5001',
      HTTP_ORIGIN: 'http://example.com',
    });
    expect(env.HTTP_HOST).toBeUndefined();
  });
});

describe('headerVariables', () => {
  test('upper-cases names and turns "-" into "_"', () => {
    expect(headerVariables([['x-Forwarded-For', '10.0.0.1']])).toEqual({
      HTTP_X_FORWARDED_FOR: '10.0.0.1',
    });
  });

  test('joins a repeated header (in any case) with ", " in arrival order', () => {
    expect(
      headerVariables([
        ['X-Rep', 'one'],
        ['Cookie', 'a=1'],
        ['x-rep', 'two'],
        ['Cookie', 'b=2'],
      ]),
    ).toEqual({ HTTP_X_REP: 'one, two', HTTP_COOKIE: 'a=1, b=2' });
  });

  test('a Proxy header never becomes HTTP_PROXY (httpoxy)', () => {
    expect(
      headerVariables([
        ['Proxy', 'http://evil:1'],
        ['proxy', 'x'],
      ]),
    ).toEqual({});
  });

  test('a name with "_" or other punctuation is dropped: it could pose as a dashed one', () => {
    expect(
      headerVariables([
        ['X-Forwarded-For', 'real'],
        ['X_Forwarded_For', 'spoofed'],
        ['X.Dot', 'x'],
      ]),
    ).toEqual({ HTTP_X_FORWARDED_FOR: 'real' });
  });

  test('values lose line breaks and NULs and surrounding spaces', () => {
    expect(headerVariables([['X-A', '  a\r\nb\0c  ']])).toEqual({ HTTP_X_A: 'a  b c' });
  });
});

describe('passEnvironment', () => {
  const server = {
    PATH: '/usr/bin:/bin',
    HOME: '/home/push',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    LC_TIME: 'en_GB.UTF-8',
    TZ: 'UTC',
    LCX: 'not a locale',
    SHELL: '/bin/bash',
    AWS_SECRET_ACCESS_KEY: 'secret',
    PUSH_WS_PUBLISH_TOKEN: 'publish-secret',
    PUSH_WS_ADMIN_TOKEN: 'admin-secret',
    PUSH_WS_REDIS: 'redis://:pw@host',
    PUSH_WS_PORT: '5001',
    HTTPS: 'on',
    EMPTY: '',
    UNSET: undefined,
  };

  test('the default passes PATH, LANG, LC_*, TZ, HOME and nothing else', () => {
    expect(passEnvironment(server, DEFAULT_PASSENV)).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/push',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      LC_TIME: 'en_GB.UTF-8',
      TZ: 'UTC',
    });
  });

  test('the secrets never pass, even when listed or matched by a pattern', () => {
    const names = ['PUSH_WS_PUBLISH_TOKEN', 'PUSH_WS_ADMIN_TOKEN', 'PUSH_WS_REDIS', 'PUSH_*', '*'];
    const passed = passEnvironment(server, names);
    expect(passed.PUSH_WS_PUBLISH_TOKEN).toBeUndefined();
    expect(passed.PUSH_WS_ADMIN_TOKEN).toBeUndefined();
    expect(passed.PUSH_WS_REDIS).toBeUndefined();
    expect(passed.PUSH_WS_PORT).toBeUndefined();
    expect(passed.SHELL).toBe('/bin/bash');
  });

  test('an exact PUSH_WS_ name that is not a secret passes', () => {
    expect(passEnvironment(server, ['PUSH_WS_PORT'])).toEqual({ PUSH_WS_PORT: '5001' });
  });

  test('HTTPS never passes; empty and unset values are left out', () => {
    expect(passEnvironment(server, ['HTTPS', 'EMPTY', 'UNSET'])).toEqual({});
  });

  test('values are put on one line', () => {
    expect(passEnvironment({ A: ' x\ny ' }, ['A'])).toEqual({ A: 'x y' });
  });
});

describe('parsePassenv', () => {
  test('comma-separated names and PREFIX* patterns, blanks dropped', () => {
    expect(parsePassenv('PATH, LC_*,,HOME ')).toEqual(['PATH', 'LC_*', 'HOME']);
    expect(parsePassenv('')).toEqual([]);
  });

  test('anything else is refused with the entry named', () => {
    expect(() => parsePassenv('PATH,A=B')).toThrow('"A=B" is not a variable name');
    expect(() => parsePassenv('L*C')).toThrow('"L*C"');
  });
});

describe('cgiEnvironment of an authenticated client', () => {
  test('REMOTE_USER is the verified user and PUSH_WS_CLAIMS the claims as JSON', () => {
    const claims = { sub: '42', exp: 2000000000, channels: ['/user/42'], note: 'a\nb' };
    const env = cgiEnvironment(facts(), {}, { ...OPTIONS, user: '42', claims });
    expect(env.REMOTE_USER).toBe('42');
    expect(JSON.parse(env.PUSH_WS_CLAIMS)).toEqual(claims);
    expect(env.PUSH_WS_CLAIMS).not.toMatch(/[\r\n]/);
  });

  test('an anonymous client has REMOTE_USER blank and no PUSH_WS_CLAIMS, whatever was inherited', () => {
    const inherited = { REMOTE_USER: 'root', PUSH_WS_CLAIMS: '{"sub":"forged"}' };
    const env = cgiEnvironment(facts(), inherited, OPTIONS);
    expect(env.REMOTE_USER).toBe('');
    expect(env.PUSH_WS_CLAIMS).toBeUndefined();
  });
});
