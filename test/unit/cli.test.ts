import type { ServerConfig } from '../../src/shared/config';
import {
  AUTH_OFF,
  LIFECYCLE_OFF,
  isolatePushWsEnvironment,
  parseFlags,
  usageError as expectUsageError,
} from '../helpers/cli';

/**
 * parseCommandLine in-process: flags, PUSH_WS_* variables, and the one-line
 * message a bad value gets. (test/integration/cli.test.ts runs the real binary.)
 */

const VERSION = '9.9.9-test';
isolatePushWsEnvironment();

const parse = (...argv: string[]): ServerConfig => parseFlags(argv, VERSION);

/** The websocketd-parity flags' defaults (test/unit/websocketd-flags.test.ts has the rest). */
const WEBSOCKETD_DEFAULTS = {
  passenv: ['PATH', 'LANG', 'LC_*', 'TZ', 'HOME'],
  quitWords: ['quit', 'exit'],
  dir: undefined,
  staticDir: undefined,
  binary: false,
  sameOrigin: false,
  closeMs: 100,
  reverseLookup: false,
  headers: { all: [], ws: [], http: [] },
};

/** Lifetimes off, drains over 30 s. */
const LIFETIME_DRAIN_DEFAULTS = { maxLifetime: 0, idleTimeout: 0, drainSeconds: 30 };

/** Authentication off (test/unit/auth-flags.test.ts has the rest). */
const AUTH_DEFAULTS = {
  auth: AUTH_OFF,
};

/** No hooks, no presence TTL beyond the default. */
const LIFECYCLE_DEFAULTS = { lifecycle: LIFECYCLE_OFF };

/** Commands run as the server's user, without limits. */
const SANDBOX_DEFAULTS = {
  sandbox: {
    cgroups: true,
    command: {
      lineBuffered: false,
      nproc: undefined,
      rlimits: {},
      tools: { prlimit: undefined, setpriv: undefined, stdbuf: undefined },
      user: undefined,
    },
    cpuPercent: undefined,
    memory: undefined,
  },
};

const usageError = (...argv: string[]): string => expectUsageError(argv);

describe('parseCommandLine', () => {
  it('has the documented defaults', () => {
    expect(parse()).toEqual({
      host: '127.0.0.1',
      port: 5001,
      maxClients: 256,
      intervalMin: 2,
      intervalMax: 5,
      spareWorkers: 2,
      spareWorkersMax: 2,
      origins: [],
      maxMessageSize: 1048576,
      handshakeTimeout: 10,
      pingInterval: 30,
      logLevel: 'info',
      logFormat: 'text',
      exec: undefined,
      demo: true,
      publishToken: undefined,
      maxBuffered: 1048576,
      redis: undefined,
      history: 100,
      historyTtl: 3600,
      idempotencyWindow: 300,
      channelExec: [],
      workerMemoryLimit: 256,
      adminToken: undefined,
      trustProxy: [],
      maxClientsPerIp: 0,
      connectRate: undefined,
      ...WEBSOCKETD_DEFAULTS,
      ...AUTH_DEFAULTS,
      ...LIFECYCLE_DEFAULTS,
      ...SANDBOX_DEFAULTS,
      ...LIFETIME_DRAIN_DEFAULTS,
    });
  });

  it('takes every flag', () => {
    expect(
      parse(
        '--host',
        '::1',
        '--port',
        '0',
        '--max-clients',
        '10',
        '--interval-min',
        '0.5',
        '--interval-max',
        '1.5',
        '--spare-workers',
        '0',
        '--origin',
        'https://a.example',
        '--origin',
        'https://b.example',
        '--max-message-size',
        '1000',
        '--handshake-timeout',
        '2.5',
        '--ping-interval',
        '0',
        '--log-level',
        'warn',
        '--log-format',
        'json',
        '--no-demo',
        '--publish-token',
        'secret-token',
        '--max-buffered',
        '65536',
      ),
    ).toEqual({
      host: '::1',
      port: 0,
      maxClients: 10,
      intervalMin: 0.5,
      intervalMax: 1.5,
      spareWorkers: 0,
      spareWorkersMax: 0,
      origins: ['https://a.example', 'https://b.example'],
      maxMessageSize: 1000,
      handshakeTimeout: 2.5,
      pingInterval: 0,
      logLevel: 'warn',
      logFormat: 'json',
      exec: undefined,
      demo: false,
      publishToken: 'secret-token',
      maxBuffered: 65536,
      redis: undefined,
      history: 100,
      historyTtl: 3600,
      idempotencyWindow: 300,
      channelExec: [],
      workerMemoryLimit: 256,
      adminToken: undefined,
      trustProxy: [],
      maxClientsPerIp: 0,
      connectRate: undefined,
      ...WEBSOCKETD_DEFAULTS,
      ...AUTH_DEFAULTS,
      ...LIFECYCLE_DEFAULTS,
      ...SANDBOX_DEFAULTS,
      ...LIFETIME_DRAIN_DEFAULTS,
    });
  });

  it('lifetimes and the drain: --max-lifetime, --idle-timeout, --drain-seconds', () => {
    expect(
      parse('--max-lifetime', '3600', '--idle-timeout', '90.5', '--drain-seconds', '0'),
    ).toMatchObject({ maxLifetime: 3600, idleTimeout: 90.5, drainSeconds: 0 });
    expect(usageError('--max-lifetime', '-1')).toMatch(/^--max-lifetime must be a number of 0/);
    expect(usageError('--idle-timeout', 'soon')).toMatch(/^--idle-timeout must be a number/);
    expect(usageError('--drain-seconds', '-5')).toMatch(/^--drain-seconds must be a number/);
  });

  it('per-address limits: --max-clients-per-ip N, --connect-rate RATE[:BURST]', () => {
    expect(parse('--max-clients-per-ip', '3', '--connect-rate', '5:12')).toMatchObject({
      maxClientsPerIp: 3,
      connectRate: { rate: 5, burst: 12 },
    });
    // BURST defaults to twice RATE; "/s" may be written; 0 is off.
    expect(parse('--connect-rate', '2.5/s').connectRate).toEqual({ rate: 2.5, burst: 5 });
    expect(parse('--connect-rate', '0').connectRate).toBeUndefined();
    expect(usageError('--connect-rate', 'fast')).toMatch(
      /^--connect-rate must be RATE or RATE:BURST/,
    );
    expect(usageError('--connect-rate', '5:0')).toMatch(/^--connect-rate BURST must be 1 or more/);
    expect(usageError('--max-clients-per-ip', '-1')).toMatch(
      /^--max-clients-per-ip must be a whole number/,
    );
  });

  it('channel flags: --redis, --history, --history-ttl, --channel-exec (repeatable)', () => {
    const config = parse(
      '--redis',
      'redis://:pw@127.0.0.1:6380/2',
      '--history',
      '5',
      '--history-ttl',
      '60',
      '--idempotency-window',
      '30',
      '--channel-exec',
      '/ticker/=vmstat 1',
      '--channel-exec',
      "/news=sh -c 'echo hi'",
    );
    expect(config).toMatchObject({
      redis: 'redis://:pw@127.0.0.1:6380/2',
      history: 5,
      historyTtl: 60,
      idempotencyWindow: 30,
      channelExec: [
        { channel: '/ticker', argv: ['vmstat', '1'] },
        { channel: '/news', argv: ['sh', '-c', 'echo hi'] },
      ],
    });
    expect(() => parse('--redis', 'http://x')).toThrow(
      /^--redis: scheme must be redis:\/\/, rediss:\/\/ or redis\+sentinel:\/\//,
    );
    expect(() => parse('--channel-exec', 'vmstat 1')).toThrow(/CHANNEL=COMMAND/);
    expect(() => parse('--channel-exec', '/a b=x')).toThrow(/--channel-exec/);
    expect(() => parse('--history', '-1')).toThrow(/^--history /);
  });

  it('--verbose means --log-level debug', () => {
    expect(parse('--verbose').logLevel).toBe('debug');
    expect(parse('--verbose', '--log-level', 'error').logLevel).toBe('debug');
  });

  it('takes every flag from its PUSH_WS_ variable', () => {
    Object.assign(process.env, {
      PUSH_WS_HOST: '0.0.0.0',
      PUSH_WS_PORT: '8080',
      PUSH_WS_MAX_CLIENTS: '5',
      PUSH_WS_INTERVAL_MIN: '1',
      PUSH_WS_INTERVAL_MAX: '3',
      PUSH_WS_SPARE_WORKERS: '4',
      PUSH_WS_HANDSHAKE_TIMEOUT: '3',
      PUSH_WS_PING_INTERVAL: '15',
      PUSH_WS_LOG_LEVEL: 'debug',
      PUSH_WS_LOG_FORMAT: 'json',
      PUSH_WS_EXEC: 'tail -f /var/log/syslog',
      PUSH_WS_PUBLISH_TOKEN: 'from-the-environment',
      PUSH_WS_MAX_BUFFERED: '32768',
      PUSH_WS_MAX_MESSAGE_SIZE: '4096',
    });
    expect(parse()).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      maxClients: 5,
      intervalMin: 1,
      intervalMax: 3,
      spareWorkers: 4,
      spareWorkersMax: 4,
      handshakeTimeout: 3,
      pingInterval: 15,
      logLevel: 'debug',
      logFormat: 'json',
      exec: ['tail', '-f', '/var/log/syslog'],
      publishToken: 'from-the-environment',
      maxBuffered: 32768,
      maxMessageSize: 4096,
    });
  });

  it('PUSH_WS_DEMO=false turns the demo off', () => {
    process.env.PUSH_WS_DEMO = 'false';
    expect(parse().demo).toBe(false);
  });

  it('a flag wins over its variable', () => {
    process.env.PUSH_WS_PORT = '8080';
    expect(parse('--port', '9090').port).toBe(9090);
  });

  it('splits --exec into words as a shell would, without running one', () => {
    expect(parse('--exec', `printf '%s\\n' "a b" c\\ d $HOME`).exec).toEqual([
      'printf',
      '%s\\n',
      'a b',
      'c d',
      '$HOME',
    ]);
  });

  it.each([
    [['--exec', ''], '--exec must name a command'],
    [['--exec', '   '], '--exec must name a command'],
    [['--exec', "echo 'open"], '--exec: unterminated single quote'],
  ])('a bad --exec %j: %s', (argv, message) => {
    expect(usageError(...argv)).toBe(message);
  });

  it('--publish-token with white space is refused (a Bearer header could never carry it)', () => {
    expect(usageError('--publish-token', 'abcd efgh')).toBe(
      '--publish-token must not contain spaces',
    );
  });

  it('--publish-token needs 8 characters at least', () => {
    expect(usageError('--publish-token', 'short')).toBe(
      '--publish-token must be at least 8 characters',
    );
    expect(parse('--publish-token', '12345678').publishToken).toBe('12345678');
  });

  it('a too short PUSH_WS_PUBLISH_TOKEN is refused too, without showing it', () => {
    process.env.PUSH_WS_PUBLISH_TOKEN = 'abc1234';
    const message = usageError();
    expect(message).toBe('--publish-token must be at least 8 characters');
    expect(message).not.toContain('abc1234');
  });

  it('--interval-min above --interval-max is refused, naming both', () => {
    expect(usageError('--interval-min', '6', '--interval-max', '5')).toBe(
      '--interval-min (6) is above --interval-max (5)',
    );
    expect(parse('--interval-min', '5', '--interval-max', '5').intervalMin).toBe(5);
  });

  it.each([
    [['--port', 'abc'], 'port'],
    [['--port', '65536'], 'port'],
    [['--port', '-1'], 'port'],
    [['--port', '80.5'], 'port'],
    [['--max-clients', '0'], 'max-clients'],
    [['--max-clients', '1.5'], 'max-clients'],
    [['--spare-workers', '65'], 'spare-workers'],
    [['--interval-min', '0'], 'interval-min'],
    [['--interval-min', '-2'], 'interval-min'],
    [['--interval-max', 'soon'], 'interval-max'],
    [['--handshake-timeout', '0'], 'handshake-timeout'],
    [['--ping-interval', '-1'], 'ping-interval'],
    [['--max-message-size', '0'], 'max-message-size'],
    [['--max-buffered', '100'], 'max-buffered'],
    [['--host', ' '], 'host'],
  ])('%j is refused with one line naming --%s', (argv, flag) => {
    expect(usageError(...argv)).toMatch(new RegExp(`^--${flag} `));
  });

  it('--spare-workers is N, or MIN:MAX, from the command line or the environment', () => {
    const spares = (config: ServerConfig): [number, number] => [
      config.spareWorkers,
      config.spareWorkersMax,
    ];
    expect(spares(parse('--spare-workers', '5'))).toEqual([5, 5]);
    expect(spares(parse('--spare-workers', '1:4'))).toEqual([1, 4]);
    expect(spares(parse('--spare-workers=0:64'))).toEqual([0, 64]);
    expect(spares(parse('--spare-workers', '3:3'))).toEqual([3, 3]);
    expect(spares(parse('--spare-workers', '0'))).toEqual([0, 0]);
    process.env.PUSH_WS_SPARE_WORKERS = '2:8';
    expect(spares(parse())).toEqual([2, 8]);
  });

  it.each(['3:1', '64:0'])('--spare-workers %s (MIN above MAX) is refused, naming both', (v) => {
    const [min, max] = v.split(':');
    expect(usageError('--spare-workers', v)).toBe(
      `--spare-workers MIN:MAX: MIN (${min}) is above MAX (${max})`,
    );
  });

  it.each(['a:b', '1:2:3', '65', '1:65', '65:70', '-1', '1.5', '2:', ':2', '', 'two'])(
    '--spare-workers %j is refused with one line giving the forms',
    (value) => {
      expect(usageError('--spare-workers', value)).toBe(
        `--spare-workers must be N or MIN:MAX, whole numbers from 0 to 64 (got ${JSON.stringify(value)})`,
      );
    },
  );

  it('a negative MIN after = is refused the same way', () => {
    expect(usageError('--spare-workers=-1:2')).toBe(
      '--spare-workers must be N or MIN:MAX, whole numbers from 0 to 64 (got "-1:2")',
    );
  });

  it('a bad PUSH_WS_SPARE_WORKERS is refused the same way', () => {
    process.env.PUSH_WS_SPARE_WORKERS = '4:2';
    expect(usageError()).toBe('--spare-workers MIN:MAX: MIN (4) is above MAX (2)');
  });

  it('a bad value from a variable names the flag', () => {
    process.env.PUSH_WS_MAX_CLIENTS = 'many';
    expect(usageError()).toMatch(/^--max-clients must be a whole number from 1 to 1000000/);
  });

  it('a choice outside the list is one line naming the option and the choices', () => {
    const message = usageError('--log-level', 'loud');
    expect(message).toContain('log-level');
    expect(message).toContain('loud');
    expect(message).toContain('debug');
  });

  it('an unknown option names the flag and its PUSH_WS_ variable', () => {
    expect(usageError('--colour', 'blue')).toBe('unknown option --colour (PUSH_WS_COLOUR)');
    expect(usageError('--max-client', '3')).toMatch(
      /^unknown option --max-client \(PUSH_WS_MAX_CLIENT\)/,
    );
  });

  // yargs reports a kebab-case unknown option under both its spellings (redis-no, redisNo).
  it('an unknown kebab-case option is named once (--redis-no)', () => {
    expect(usageError('--max-client', '3')).toBe(
      'unknown option --max-client (PUSH_WS_MAX_CLIENT)',
    );
    expect(usageError('--redis-no')).toBe('unknown option --redis-no (PUSH_WS_REDIS_NO)');
  });

  it('an unknown PUSH_WS_ variable is named both ways too', () => {
    process.env.PUSH_WS_SPARES = '3';
    expect(usageError()).toBe('unknown option --spares (PUSH_WS_SPARES)');
  });

  it('several unknown options are all named', () => {
    const message = usageError('--foo', '--bar-baz', '1');
    expect(message).toContain('--foo (PUSH_WS_FOO)');
    expect(message).toContain('--bar-baz (PUSH_WS_BAR_BAZ)');
  });
});
