import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSettings, UsageError } from '../../src/master/cli/cli';
import { settingLines } from '../../src/master/config/reload';
import { flagList, reloadPlan } from '../../src/master/config/reload-plan';
import { isolatePushWsEnvironment, parseFlags } from '../helpers/cli';

/** --config FILE: JSON or TOML, below the command line and PUSH_WS_*, through the flags' checks. */

isolatePushWsEnvironment();

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'push-ws-config-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const where = path.join(dir, name);
  writeFileSync(where, text);
  return where;
}

/** The one-line UsageError of a config file (fails the test if there is none). */
function refusal(name: string, text: string): string {
  const where = file(name, text);
  try {
    parseSettings(['--config', where], 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(where);
    return message;
  }
  throw new Error(`no UsageError for ${text}`);
}

describe('--config FILE', () => {
  test('TOML and JSON set flags by their kebab-case names', () => {
    const toml = file(
      'a.toml',
      'max-clients = 7\norigin = ["https://a.example"]\nspare-workers = "1:4"\ndemo = false\nlog-level = "warn"\n',
    );
    expect(parseFlags(['--config', toml])).toMatchObject({
      maxClients: 7,
      origins: ['https://a.example'],
      spareWorkers: 1,
      spareWorkersMax: 4,
      demo: false,
      logLevel: 'warn',
    });
    const json = file(
      'a.json',
      '{"max-clients": 9, "origin": "https://b.example", "spare-workers": 3}',
    );
    expect(parseFlags(['--config', json])).toMatchObject({
      maxClients: 9,
      origins: ['https://b.example'],
      spareWorkers: 3,
    });
  });

  test('precedence: command line, then PUSH_WS_*, then the file, then the default', () => {
    const toml = file('p.toml', 'max-clients = 7\nport = 1234\nhistory = 5\n');
    process.env.PUSH_WS_MAX_CLIENTS = '8';
    process.env.PUSH_WS_PORT = '4321';
    const settings = parseSettings(['--config', toml, '--port', '9'], 'test');
    expect(settings.config).toMatchObject({ port: 9, maxClients: 8, history: 5, historyTtl: 3600 });
    expect(Object.fromEntries(settings.sources)).toEqual({
      config: 'command line',
      port: 'command line',
      'max-clients': 'environment',
      history: 'config file',
    });
  });

  test('PUSH_WS_CONFIG names the file too', () => {
    process.env.PUSH_WS_CONFIG = file('e.toml', 'max-clients = 11\n');
    expect(parseFlags([]).maxClients).toBe(11);
  });

  test('a bad value fails the flag’s own check, naming the file and the key', () => {
    expect(refusal('zero.toml', 'max-clients = 0\n')).toMatch(
      /: key "max-clients": --max-clients must be a whole number from 1/,
    );
    expect(refusal('choice.json', '{"log-level": "loud"}')).toMatch(
      /: key "log-level": .*Given: "loud"/,
    );
    expect(refusal('spares.toml', 'spare-workers = "3:1"\n')).toMatch(
      /: key "spare-workers": --spare-workers MIN:MAX/,
    );
  });

  test('unknown keys, camelCase, wrong types and bad syntax: one line each', () => {
    expect(refusal('unknown.toml', 'max-clientz = 3\n')).toMatch(/unknown key "max-clientz"$/);
    expect(refusal('camel.json', '{"maxClients": 3}')).toMatch(
      /unknown key "maxClients" \(write max-clients\)$/,
    );
    expect(refusal('type.json', '{"max-clients": "3"}')).toMatch(
      /key "max-clients" must be a number \(got "3"\)$/,
    );
    expect(refusal('bool.toml', 'demo = "no"\n')).toMatch(/key "demo" must be true or false/);
    expect(refusal('nested.toml', 'config = "other.toml"\n')).toMatch(/unknown key "config"/);
    expect(refusal('syntax.toml', 'max-clients = \n')).toMatch(/not valid TOML: /);
    expect(refusal('syntax.json', '{"max-clients": }')).toMatch(/not valid JSON: /);
    expect(refusal('list.json', '[1, 2]')).toMatch(/must hold a table of flags$/);
  });

  test('a file that cannot be read is one line', () => {
    expect(() => parseSettings(['--config', path.join(dir, 'none.toml')], 'test')).toThrow(
      /--config .*none\.toml: cannot read it: ENOENT$/,
    );
  });

  test("a bad value from the command line is still the flag's own error", () => {
    const toml = file('ok.toml', 'history = 5\n');
    expect(() => parseSettings(['--config', toml, '--max-clients', '0'], 'test')).toThrow(
      /^--max-clients must be a whole number/,
    );
  });
});

describe('the start-up lines', () => {
  test('say where each value came from, and hide the secrets', () => {
    const toml = file(
      's.toml',
      'admin-token = "very-secret-admin"\nmax-clients = 7\nredis = "redis://:pw@127.0.0.1:6379"\n',
    );
    const lines = settingLines(parseSettings(['--config', toml], 'test'));
    expect(lines).toEqual([
      'Setting --max-clients 7 from the config file',
      'Setting --admin-token from the config file (value hidden)',
      'Setting --redis from the config file (value hidden)',
      `Setting --config ${JSON.stringify(toml)} from the command line`,
    ]);
    expect(lines.join('\n')).not.toMatch(/very-secret|pw@/);
  });
});

describe('reloadPlan', () => {
  test('splits what changes live from what needs the hot upgrade', () => {
    const running = parseFlags([]);
    const next = parseFlags([
      '--max-clients',
      '3',
      '--origin',
      'https://a.example',
      '--log-level',
      'debug',
      '--spare-workers',
      '1:3',
      '--history',
      '5',
      '--port',
      '1',
    ]);
    const plan = reloadPlan(running, next);
    expect(plan.live.sort()).toEqual(
      ['logLevel', 'maxClients', 'origins', 'spareWorkers', 'spareWorkersMax'].sort(),
    );
    expect(plan.upgrade.sort()).toEqual(['history', 'port']);
    expect(flagList(['spareWorkers', 'spareWorkersMax', 'origins'])).toBe(
      '--spare-workers, --origin',
    );
    expect(reloadPlan(running, parseFlags([]))).toEqual({ live: [], upgrade: [] });
  });
});
