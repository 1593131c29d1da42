import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine, UsageError } from '../../src/master/cli/cli';
import { commandCandidates, findExecutable } from '../../src/master/cli/find-executable';
import { repeatedFlag } from '../../src/master/cli/repeated-flags';
import { writeScript } from '../helpers/script';

const parse = (argv: string[]): ReturnType<typeof parseCommandLine> =>
  parseCommandLine(argv, '0.0.0');

/** The one-line message parseCommandLine refuses `argv` with. */
function refusal(argv: string[]): string {
  try {
    parse(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('a single-valued flag given twice is refused, naming it', () => {
  test.each([
    [['--host', 'a', '--host', 'b'], 'host'],
    [['--host=a', '--host', 'b'], 'host'],
    [['--port', '1', '--port', '2'], 'port'],
    [['--exec', 'sh', '--exec', 'cat'], 'exec'],
    [['--max-clients', '3', '--maxClients', '4'], 'max-clients'],
    [['--log-level', 'info', '--log-level', 'debug'], 'log-level'],
    [['--publish-token', 'aaaaaaaa', '--publish-token', 'bbbbbbbb'], 'publish-token'],
    [['--verbose', '--verbose'], 'verbose'],
    [['--demo', '--no-demo'], 'demo'],
    [['--port', '1', '--help', '--port', '2'], 'port'],
  ])('%j', (argv, flag) => {
    const message = refusal(argv);
    expect(message).toMatch(
      new RegExp(
        `^--${flag} was given more than once \\(only --origin(, --[a-z-]+)* may repeat\\)$`,
      ),
    );
    expect(message).not.toContain('\n');
  });

  test('--origin may repeat', () => {
    expect(parse(['--origin', 'http://a', '--origin', 'http://b']).origins).toEqual([
      'http://a',
      'http://b',
    ]);
  });

  test('a flag once, and different flags, are fine', () => {
    const config = parse(['--host', '127.0.0.2', '--port', '0', '--verbose', '--no-demo']);
    expect(config).toMatchObject({ host: '127.0.0.2', port: 0, logLevel: 'debug', demo: false });
  });
});

describe('repeatedFlag', () => {
  const known = new Set(['host', 'demo', 'exec']);
  test.each([
    [['--host', 'a', '--', '--host'], undefined],
    [['--exec', '--host a', '--host', 'b'], undefined],
    [['--colour', 'a', '--colour', 'b'], undefined],
    [['--no-demo', '--noDemo'], 'demo'],
    [['--exec=x', '--exec=y'], 'exec'],
  ])('%j → %s', (argv, expected) => {
    expect(repeatedFlag(argv, known)).toBe(expected);
  });
});

describe('--exec must name a command that exists', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-exec-'));
    writeScript(path.join(dir, 'runnable'), '');
    writeScript(path.join(dir, 'not-runnable'), '', 0o644);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['no-such-command-here --flag', '--exec: command "no-such-command-here" not found in PATH'],
    ['/nonexistent/command', '--exec: "/nonexistent/command" is not an executable file'],
    ['/tmp', '--exec: "/tmp" is not an executable file'],
  ])('%s', (line, message) => {
    expect(refusal(['--exec', line])).toBe(message);
  });

  test('a file without the execute bit is refused; one with it is accepted', () => {
    expect(refusal(['--exec', path.join(dir, 'not-runnable')])).toMatch(/not an executable/);
    expect(parse(['--exec', `${path.join(dir, 'runnable')} x`]).exec).toEqual([
      path.join(dir, 'runnable'),
      'x',
    ]);
  });

  test('a bare name is looked up in PATH, as spawn looks it up', () => {
    expect(parse(['--exec', "sh -c 'cat'"]).exec).toEqual(['sh', '-c', 'cat']);
    expect(findExecutable('runnable', `/nonexistent:${dir}`)).toBe(path.join(dir, 'runnable'));
    expect(findExecutable('runnable', '/nonexistent')).toBeUndefined();
    expect(findExecutable('not-runnable', dir)).toBeUndefined();
  });

  test('candidates: a path is resolved against the directory; an empty PATH entry is it', () => {
    expect(commandCandidates('./x', '/bin', '/srv')).toEqual(['/srv/x']);
    expect(commandCandidates('x', '/a::b', '/srv')).toEqual(['/a/x', '/srv/x', '/srv/b/x']);
    expect(commandCandidates('x', undefined, '/srv')).toEqual(['/usr/bin/x', '/bin/x']);
  });
});
