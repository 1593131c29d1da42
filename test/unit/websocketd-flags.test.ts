import { mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { workerConfigOf, type ServerConfig } from '../../src/shared/config';
import {
  isolatePushWsEnvironment,
  parseFlags,
  usageError as expectUsageError,
} from '../helpers/cli';

/**
 * The websocketd-parity flags through parseCommandLine: defaults, values, and the one
 * line a bad value gets (docs/websocketd.md).
 */
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'push-ws-flags-'));
  writeFileSync(path.join(dir, 'file'), 'not a directory');
  symlinkSync(dir, path.join(dir, 'link'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

isolatePushWsEnvironment();

const parse = (...argv: string[]): ServerConfig => parseFlags(argv, '0.0.0-test');

const usageError = (...argv: string[]): string => expectUsageError(argv);

describe('--quit-words', () => {
  test('quit,exit by default; none with --exec or --dir (the command sees every line)', () => {
    expect(parse().quitWords).toEqual(['quit', 'exit']);
    expect(parse('--exec', 'cat').quitWords).toEqual([]);
    expect(parse('--dir', dir).quitWords).toEqual([]);
  });

  test('the flag sets them in any mode: comma-separated, repeatable, empty for none', () => {
    expect(parse('--exec', 'cat', '--quit-words', 'quit,exit').quitWords).toEqual(['quit', 'exit']);
    expect(parse('--quit-words', 'bye', '--quit-words', 'ciao').quitWords).toEqual(['bye', 'ciao']);
    expect(parse('--quit-words', '').quitWords).toEqual([]);
    process.env.PUSH_WS_QUIT_WORDS = 'stop, halt';
    expect(parse().quitWords).toEqual(['stop', 'halt']);
  });
});

describe('--passenv', () => {
  test('PATH, LANG, LC_*, TZ, HOME by default; the flag replaces the list', () => {
    expect(parse().passenv).toEqual(['PATH', 'LANG', 'LC_*', 'TZ', 'HOME']);
    expect(parse('--passenv', 'PATH,MY_*').passenv).toEqual(['PATH', 'MY_*']);
    expect(parse('--passenv', '').passenv).toEqual([]);
  });

  test('a name that is not one is refused', () => {
    expect(usageError('--passenv', 'PATH,A=B')).toBe(
      '--passenv: "A=B" is not a variable name (or a PREFIX* pattern)',
    );
  });
});

describe('--dir and --staticdir', () => {
  test('the real path of the directory, checked at start', () => {
    expect(parse('--dir', path.join(dir, 'link')).dir).toBe(realpathSync(dir));
    expect(parse('--staticdir', dir).staticDir).toBe(realpathSync(dir));
  });

  test.each([
    [['--dir', '/no/such/dir'], /^--dir \/no\/such\/dir: ENOENT$/],
    [['--staticdir', '/no/such/dir'], /^--staticdir \/no\/such\/dir: ENOENT$/],
    [['--dir', 'FILE'], /^--dir \S+file is not a directory$/],
    [['--dir', ''], /^--dir must name a directory$/],
    [['--dir', 'DIR', '--exec', 'cat'], /^--dir and --exec cannot be used together/],
  ])('%j is refused', (argv, pattern) => {
    const args = argv.map((arg) =>
      arg === 'FILE' ? path.join(dir, 'file') : arg === 'DIR' ? dir : arg,
    );
    expect(usageError(...args)).toMatch(pattern);
  });

  test('--dir turns the demo off for workers, as --exec does', () => {
    expect(workerConfigOf(parse('--dir', dir)).demo).toBe(false);
    expect(workerConfigOf(parse()).demo).toBe(true);
  });
});

describe('--binary, --close-ms, --same-origin, --reverse-lookup', () => {
  test('values', () => {
    expect(
      parse('--exec', 'cat', '--binary', '--close-ms', '250', '--same-origin', '--reverse-lookup'),
    ).toMatchObject({ binary: true, closeMs: 250, sameOrigin: true, reverseLookup: true });
    expect(parse('--close-ms', '0').closeMs).toBe(0);
  });

  test('--binary needs a command; --close-ms a whole number of ms', () => {
    expect(usageError('--binary')).toBe('--binary needs --exec or --dir');
    expect(usageError('--close-ms', '-1')).toMatch(/^--close-ms must be a whole number from 0/);
    expect(usageError('--close-ms', '1.5')).toMatch(/^--close-ms /);
    expect(usageError('--close-ms', '600000')).toMatch(/^--close-ms /);
  });
});

describe('--origin', () => {
  test('host, host:port or a full origin; repeatable and comma-separated', () => {
    expect(
      parse('--origin', 'a.test,b.test:8080', '--origin', 'https://c.test', '--origin', '[::1]:1')
        .origins,
    ).toEqual(['a.test', 'b.test:8080', 'https://c.test', '[::1]:1']);
  });

  test('anything else is refused with the entry named', () => {
    expect(usageError('--origin', 'a.test,http://x:y')).toBe(
      '--origin "http://x:y" is not host, host:port or scheme://host[:port]',
    );
  });
});

describe('--header, --header-ws, --header-http', () => {
  test('repeatable, checked, names in canonical case', () => {
    expect(
      parse(
        '--header',
        'server: mine/1',
        '--header',
        'X-A: 1',
        '--header-ws',
        'X-W: 2',
        '--header-http',
        'Cache-Control: no-store',
      ).headers,
    ).toEqual({
      all: [
        ['Server', 'mine/1'],
        ['X-A', '1'],
      ],
      ws: [['X-W', '2']],
      http: [['Cache-Control', 'no-store']],
    });
  });

  test('a header the server sets itself, or a malformed one, is refused naming the flag', () => {
    expect(usageError('--header-ws', 'Upgrade: h2c')).toBe(
      '--header-ws Upgrade: the server sets this header itself',
    );
    expect(usageError('--header', 'no colon')).toMatch(/^--header "no colon": expected/);
  });
});
