import { AUTH_OFF, isolatePushWsEnvironment, parseFlags, usageError } from '../helpers/cli';

isolatePushWsEnvironment();

describe('authentication flags', () => {
  test('off by default', () => {
    expect(parseFlags([]).auth).toEqual(AUTH_OFF);
  });

  test('every flag, from the command line and from PUSH_WS_ variables', () => {
    const argv = [
      '--auth-secret-file',
      '/etc/pw/secret',
      '--auth-public-key',
      '/etc/pw/key.pem',
      '--auth-cookie',
      'pw_token',
      '--auth-audience',
      'push',
      '--auth-issuer',
      'https://app.example',
      '--auth-leeway',
      '0',
      '--private-channels',
      '/user/*',
      '--private-channels',
      '/team/**,/admin/',
      '--allow-anonymous',
      '--auth-url',
      'http://127.0.0.1:9/check',
      '--auth-timeout',
      '0.5',
    ];
    const expected = {
      secretFile: '/etc/pw/secret',
      publicKeyFile: '/etc/pw/key.pem',
      cookie: 'pw_token',
      audience: 'push',
      issuer: 'https://app.example',
      leeway: 0,
      privateChannels: ['/user/*', '/team/**', '/admin'],
      allowAnonymous: true,
      url: 'http://127.0.0.1:9/check',
      timeout: 0.5,
    };
    expect(parseFlags(argv).auth).toEqual(expected);
    Object.assign(process.env, {
      PUSH_WS_AUTH_SECRET_FILE: '/etc/pw/secret',
      PUSH_WS_AUTH_PUBLIC_KEY: '/etc/pw/key.pem',
      PUSH_WS_AUTH_COOKIE: 'pw_token',
      PUSH_WS_AUTH_AUDIENCE: 'push',
      PUSH_WS_AUTH_ISSUER: 'https://app.example',
      PUSH_WS_AUTH_LEEWAY: '0',
      PUSH_WS_PRIVATE_CHANNELS: '/user/*,/team/**,/admin/',
      PUSH_WS_ALLOW_ANONYMOUS: 'true',
      PUSH_WS_AUTH_URL: 'http://127.0.0.1:9/check',
      PUSH_WS_AUTH_TIMEOUT: '0.5',
    });
    expect(parseFlags([]).auth).toEqual(expected);
  });

  test('single-valued flags given twice exit 2; --private-channels repeats', () => {
    for (const flag of ['--auth-secret-file', '--auth-url', '--auth-cookie', '--auth-leeway']) {
      expect(usageError([flag, '1', flag, '2'])).toMatch(
        new RegExp(`^${flag} was given more than once`),
      );
    }
    expect(usageError(['--allow-anonymous', '--no-allow-anonymous'])).toMatch(/more than once/);
  });

  test('bad values, and flags that could have no effect, exit 2 with one line', () => {
    const key = ['--auth-secret-file', '/k'];
    expect(usageError([...key, '--private-channels', '/a/**/b'])).toMatch(
      /^--private-channels: "\/a\/\*\*\/b": "\*\*" may only be the last segment/,
    );
    expect(usageError(['--private-channels', '/user/*'])).toBe(
      '--private-channels needs --auth-secret-file, --auth-public-key or --auth-url',
    );
    expect(usageError(['--allow-anonymous'])).toBe(
      '--allow-anonymous needs --auth-secret-file or --auth-public-key',
    );
    expect(usageError(['--auth-url', 'http://x/', '--auth-audience', 'a'])).toBe(
      '--auth-audience needs --auth-secret-file or --auth-public-key',
    );
    expect(usageError([...key, '--auth-cookie', 'a b'])).toMatch(/is not a cookie name/);
    expect(usageError(['--auth-url', 'ftp://x/'])).toMatch(/http:\/\/ or https:\/\/ URL/);
    expect(usageError(['--auth-url', 'http://x/', '--auth-timeout', '0'])).toMatch(
      /--auth-timeout must be a number greater than 0/,
    );
    expect(usageError(['--auth-url', 'http://x/', '--auth-timeout', '31'])).toMatch(/at most 30/);
    expect(usageError([...key, '--auth-leeway', '301'])).toMatch(/--auth-leeway must be a whole/);
    expect(usageError(['--auth-secret-file', ' '])).toBe('--auth-secret-file must name a file');
  });
});
