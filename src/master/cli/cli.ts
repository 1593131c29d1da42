import yargs from 'yargs';
import type { ChannelCommand, ServerConfig } from '../../shared/config';
import { normaliseChannel } from '../../shared/channel-name';
import { AUTH_OPTIONS, authSettings } from './auth-flags';
import { findExecutable } from './find-executable';
import { checkRedisUrl } from '../broker/redis-url';
import { parseTrustProxy, TrustProxyError } from '../http/client-address';
import { flagsGiven, repeatedFlag } from './repeated-flags';
import { flagsOfFile, readConfigFile, type FileValue } from '../config/config-file';
import { ShellWordsError, splitShellWords } from './shell-words';
import { nonNegative, positive, UsageError, wholeNumber } from './usage-error';
import { websocketdFlags, WEBSOCKETD_OPTIONS } from './websocketd-flags';
import { accessFlags, ACCESS_OPTIONS } from './access-flags';
import { lifetimeFlags, LIFETIME_OPTIONS } from './lifetime-flags';
import { lifecycleSettings, LIFECYCLE_OPTIONS } from './lifecycle-flags';
import { drainFlags, DRAIN_OPTIONS } from './drain-flags';
import { sandboxFlags, SANDBOX_OPTIONS } from './sandbox-flags';

/**
 * The command line (a contract: see docs/cli.md). Every flag also comes from the
 * environment as PUSH_WS_<FLAG>, so that a systemd EnvironmentFile can set it.
 * A bad value ends with one line naming the flag (a UsageError), never the whole usage text.
 */
export { UsageError };

/** The most idle workers --spare-workers may ask for. */
const MAX_SPARES = 64;

/**
 * --spare-workers N (N idle workers, as always) or MIN:MAX (at least MIN, up to MAX
 * while clients arrive faster than spares are replaced: see spare-policy.ts).
 */
function spareWorkers(value: string): { min: number; max: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(value.trim());
  const [min, max] = match === null ? [] : [Number(match[1]), Number(match[2] ?? match[1])];
  if (min === undefined || max === undefined || min > MAX_SPARES || max > MAX_SPARES) {
    throw new UsageError(
      `--spare-workers must be N or MIN:MAX, whole numbers from 0 to ${MAX_SPARES} (got ${JSON.stringify(value)})`,
    );
  }
  if (min > max) {
    throw new UsageError(`--spare-workers MIN:MAX: MIN (${min}) is above MAX (${max})`);
  }
  return { min, max };
}

/**
 * yargs' message on one line; an unknown option is named both ways a user could have
 * written it (yargs names options from PUSH_WS_* variables in camelCase).
 */
function oneLine(message: string): string {
  const unknown = /^Unknown arguments?: (.*)$/.exec(message.trim());
  if (unknown !== null) {
    const names = unknown[1].split(', ').map((name) => {
      const kebab = name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
      return `--${kebab} (PUSH_WS_${kebab.toUpperCase().replace(/-/g, '_')})`;
    });
    // yargs names a kebab-case option twice (redis-no, redisNo): both map to one name.
    return `unknown option ${[...new Set(names)].join(', ')}`;
  }
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}

/** The flags (docs/cli.md). Only those marked `array` may be given twice. */
const OPTIONS = {
  host: { type: 'string', default: '127.0.0.1', describe: 'address to listen on' },
  port: { type: 'number', default: 5001, describe: 'port; 0 picks a free one' },
  'max-clients': { type: 'number', default: 256, describe: 'connected clients at most' },
  'interval-min': { type: 'number', default: 2, describe: 'seconds between pushes, least' },
  'interval-max': { type: 'number', default: 5, describe: 'seconds between pushes, most' },
  'spare-workers': {
    type: 'string',
    default: '2',
    describe: 'idle pre-forked workers: N, or MIN:MAX to follow demand',
  },
  origin: { type: 'string', array: true, default: [], describe: 'allowed Origin (repeatable)' },
  'max-message-size': { type: 'number', default: 1048576, describe: 'bytes per message' },
  'handshake-timeout': { type: 'number', default: 10, describe: 'seconds for the request' },
  'ping-interval': { type: 'number', default: 30, describe: 'keepalive seconds; 0 = off' },
  'log-level': {
    choices: ['error', 'warn', 'info', 'debug'] as const,
    default: 'info' as const,
    describe: 'log level',
  },
  verbose: { type: 'boolean', default: false, describe: 'same as --log-level debug' },
  'log-format': {
    choices: ['text', 'json'] as const,
    default: 'text' as const,
    describe: 'text lines or JSON lines',
  },
  exec: { type: 'string', describe: 'a command per client: its stdout lines are pushed' },
  demo: { type: 'boolean', default: true, describe: 'the hello and demo pushes (--no-demo)' },
  'publish-token': { type: 'string', describe: 'Bearer token that turns on POST /publish' },
  'max-buffered': { type: 'number', default: 1048576, describe: 'send buffer high-water mark' },
  'admin-token': { type: 'string', describe: 'Bearer token required by /status and /metrics' },
  'trust-proxy': {
    type: 'string',
    array: true,
    default: [],
    describe:
      'proxies (ADDR or CIDR, comma-separated, repeatable) whose X-Forwarded-For is believed',
  },
  'worker-memory-limit': {
    type: 'number',
    default: 256,
    describe: 'MB of RSS a worker may use; over it its client is closed (1011); 0 = off',
  },
  redis: {
    type: 'string',
    describe:
      'redis://[:PASSWORD@]HOST:PORT[/DB] or redis+sentinel://[:PASSWORD@]HOST:PORT[,...]/MASTER[/DB]: the channel backplane',
  },
  history: { type: 'number', default: 100, describe: 'publications kept per channel; 0 = off' },
  'history-ttl': { type: 'number', default: 3600, describe: 'seconds a publication is kept' },
  'idempotency-window': {
    type: 'number',
    default: 300,
    describe: 'seconds a POST /publish Idempotency-Key is remembered; 0 = off',
  },
  'channel-exec': {
    type: 'string',
    array: true,
    default: [],
    describe: 'CHANNEL=COMMAND: one command whose lines feed a channel (repeatable)',
  },
  ...WEBSOCKETD_OPTIONS,
  ...ACCESS_OPTIONS,
  ...AUTH_OPTIONS,
  ...LIFETIME_OPTIONS,
  ...LIFECYCLE_OPTIONS,
  ...DRAIN_OPTIONS,
  ...SANDBOX_OPTIONS,
  config: {
    type: 'string',
    describe: 'a JSON or TOML file of flags (keys as the flags); flags and PUSH_WS_* win over it',
  },
} as const;

/**
 * The groups `--help` shows the flags in. A flag in none lands under "Options:" with
 * --help and --version (test/integration/docs.test.ts refuses that: put a new flag here).
 */
const HELP_GROUPS: ReadonlyArray<readonly [string, ReadonlyArray<keyof typeof OPTIONS>]> = [
  [
    'Server:',
    [
      'host',
      'port',
      'max-clients',
      'spare-workers',
      'origin',
      'same-origin',
      'max-message-size',
      'handshake-timeout',
      'ping-interval',
      'staticdir',
      'header',
      'header-ws',
      'header-http',
      'log-level',
      'verbose',
      'log-format',
    ],
  ],
  [
    'Push sources:',
    ['exec', 'dir', 'demo', 'interval-min', 'interval-max', 'publish-token', 'max-buffered'],
  ],
  ['Commands (--exec, --dir):', ['passenv', 'quit-words', 'binary', 'close-ms', 'reverse-lookup']],
  [
    'Channels & history:',
    ['channel-exec', 'history', 'history-ttl', 'redis', 'idempotency-window'],
  ],
  [
    'Authentication:',
    [
      'auth-secret-file',
      'auth-public-key',
      'auth-cookie',
      'auth-audience',
      'auth-issuer',
      'auth-leeway',
      'private-channels',
      'allow-anonymous',
      'auth-url',
      'auth-timeout',
    ],
  ],
  ['Isolating clients:', ['exec-user', 'exec-limit', 'exec-cgroups', 'line-buffered']],
  [
    'Presence & hooks:',
    ['on-connect', 'on-disconnect', 'on-channel', 'hook-timeout', 'vacate-grace', 'presence-ttl'],
  ],
  [
    'Production:',
    ['admin-token', 'trust-proxy', 'max-clients-per-ip', 'connect-rate', 'worker-memory-limit'],
  ],
  ['Lifetimes:', ['max-lifetime', 'idle-timeout']],
  ['Draining:', ['drain-seconds']],
  ['Configuration file:', ['config']],
];

const isRepeatable = (option: object): boolean => 'array' in option && option.array === true;

/** Every flag that takes one value (or is a switch): given twice, it is an error. */
const SINGLE_VALUED: ReadonlySet<string> = new Set(
  Object.entries(OPTIONS)
    .filter(([, option]) => !isRepeatable(option))
    .map(([name]) => name),
);

function givenTwice(name: string): UsageError {
  const repeatable = Object.entries(OPTIONS)
    .filter(([, option]) => isRepeatable(option))
    .map(([flag]) => `--${flag}`);
  return new UsageError(
    `--${name} was given more than once (only ${repeatable.join(', ')} may repeat)`,
  );
}

/** A command flag's value as words; `label` starts its errors ("--exec"). Never empty. */
function commandWords(label: string, text: string): string[] {
  let words: string[];
  try {
    words = splitShellWords(text);
  } catch (error) {
    if (!(error instanceof ShellWordsError)) throw error;
    throw new UsageError(`${label}: ${error.message}`);
  }
  if (words.length === 0) throw new UsageError(`${label} must name a command`);
  return words;
}

/** --exec's words; the command must exist now (as websocketd checks), not fail each client. */
function execWords(line: string): string[] {
  const words = commandWords('--exec', line);
  const [command] = words;
  if (findExecutable(command) === undefined) {
    throw new UsageError(
      command.includes('/')
        ? `--exec: ${JSON.stringify(command)} is not an executable file`
        : `--exec: command ${JSON.stringify(command)} not found in PATH`,
    );
  }
  return words;
}

/**
 * A Bearer token flag: 8 characters at least, and no white space (a request's
 * `Authorization: Bearer TOKEN` could never carry it: every request would get 401).
 */
function bearerToken(
  flag: string,
  value: string | undefined,
  /** One message for either fault (the admin token's, as it has always said). */
  refusal?: string,
): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < 8) throw new UsageError(refusal ?? `--${flag} must be at least 8 characters`);
  if (/\s/.test(value)) throw new UsageError(refusal ?? `--${flag} must not contain spaces`);
  return value;
}

/** --channel-exec CHANNEL=COMMAND: the channel normalised, the command split into words. */
function channelCommand(value: string): ChannelCommand {
  const equals = value.indexOf('=');
  if (equals < 0) throw new UsageError(`--channel-exec must be CHANNEL=COMMAND (got ${value})`);
  const named = normaliseChannel(value.slice(0, equals));
  if (!named.ok) throw new UsageError(`--channel-exec: ${named.error}`);
  const channel = named.value;
  return { channel, argv: commandWords(`--channel-exec ${channel}`, value.slice(equals + 1)) };
}

/** Where a setting's value came from, when not its default (docs/operations.md). */
export type SettingSource = 'command line' | 'environment' | 'config file';

export interface Settings {
  config: ServerConfig;
  /** The flags set other than by default, by kebab name, and where each came from. */
  sources: Map<string, SettingSource>;
  /** --config's file, if any (re-read on SIGHUP and by a hot upgrade's new master). */
  configFile: string | undefined;
  /** The value of each flag in `sources`, as given (secrets too: see SECRET_FLAGS). */
  values: Map<string, unknown>;
}

/** Flags whose values are never logged: tokens, and URLs that may hold a password. */
export const SECRET_FLAGS: ReadonlySet<string> = new Set([
  'publish-token',
  'admin-token',
  'redis',
  'auth-url',
]);

const ALL_FLAGS: ReadonlySet<string> = new Set(Object.keys(OPTIONS));

/** A flag's PUSH_WS_* variable name. */
export function environmentName(flag: string): string {
  return `PUSH_WS_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** --config FILE (or --config=FILE) on the command line, else PUSH_WS_CONFIG. */
export function configFileOf(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index];
    if (token === '--') break;
    if (token === '--config') return argv[index + 1];
    if (token.startsWith('--config=')) return token.slice('--config='.length);
  }
  return env[environmentName('config')];
}

/** The flag a UsageError's message is about (`--name`, or yargs' `Argument: name`). */
function flagNamed(message: string): string | undefined {
  const match = /(?:^|\s)--([a-z][a-z-]*)|Argument: ([a-z][a-z-]*)/.exec(message);
  const name = match?.[1] ?? match?.[2];
  return name !== undefined && ALL_FLAGS.has(name) ? name : undefined;
}

export interface SettingsInput {
  env?: NodeJS.ProcessEnv;
  /**
   * --config's text, read by the caller (the SIGHUP reload reads it without blocking:
   * src/master/config/read-bounded.ts); left out, the file is read here, synchronously.
   */
  configText?: string;
}

/**
 * The settings from every source: the command line, then PUSH_WS_* variables, then
 * --config's file, then the defaults (docs/operations.md#configuration-file). The
 * file's values pass the flags' own checks; a bad one is a UsageError naming the file
 * and the key.
 */
export function parseSettings(
  argv: string[],
  version: string,
  input: SettingsInput = {},
): Settings {
  const env = input.env ?? process.env;
  // Before yargs: it would join the values, or answer --help, before we could say why.
  const repeated = repeatedFlag(argv, SINGLE_VALUED);
  if (repeated !== undefined) throw givenTwice(repeated);
  const configFile = configFileOf(argv, env);
  const fromFile =
    configFile === undefined
      ? {}
      : input.configText === undefined
        ? readConfigFile(configFile, OPTIONS)
        : flagsOfFile(configFile, input.configText, OPTIONS);
  const onCommandLine = flagsGiven(argv, ALL_FLAGS);
  const sources = new Map<string, SettingSource>();
  for (const flag of ALL_FLAGS) {
    if (onCommandLine.has(flag)) sources.set(flag, 'command line');
    else if (env[environmentName(flag)] !== undefined) sources.set(flag, 'environment');
    else if (flag in fromFile) sources.set(flag, 'config file');
  }
  try {
    const { config, given } = parseFlags(argv, version, fromFile);
    const values = new Map([...sources.keys()].map((flag) => [flag, given[flag]]));
    return { config, sources, configFile, values };
  } catch (error) {
    if (!(error instanceof UsageError) || configFile === undefined) throw error;
    const flag = flagNamed(error.message);
    if (flag === undefined || sources.get(flag) !== 'config file') throw error;
    throw new UsageError(`--config ${configFile}: key "${flag}": ${error.message}`);
  }
}

export function parseCommandLine(argv: string[], version: string): ServerConfig {
  return parseSettings(argv, version).config;
}

/** The flags' values, with `fromFile` below the command line and the environment. */
function parseFlags(
  argv: string[],
  version: string,
  fromFile: Record<string, FileValue>,
): { config: ServerConfig; given: Record<string, unknown> } {
  const cli = yargs(argv)
    .scriptName('push-websocket')
    .usage('$0 [options]: a process-per-client WebSocket push server')
    .env('PUSH_WS')
    .strict()
    .version(version)
    .help()
    .options(OPTIONS)
    // yargs ranks a config object below the command line and the environment.
    .config(fromFile)
    .fail((message, error) => {
      throw new UsageError(oneLine(error?.message ?? message));
    });
  for (const [title, names] of HELP_GROUPS) cli.group([...names], title);
  const parsed = cli.parseSync();
  // The backstop, for any spelling the scan does not know: yargs made an array of it.
  const joined = [...SINGLE_VALUED].find((name) => Array.isArray(parsed[name]));
  if (joined !== undefined) throw givenTwice(joined);

  const intervalMin = positive('interval-min', parsed['interval-min']);
  const intervalMax = positive('interval-max', parsed['interval-max']);
  if (intervalMin > intervalMax) {
    throw new UsageError(
      `--interval-min (${intervalMin}) is above --interval-max (${intervalMax})`,
    );
  }
  if (parsed.host.trim() === '') throw new UsageError('--host must not be empty');
  const spares = spareWorkers(parsed['spare-workers']);
  const exec = parsed.exec === undefined ? undefined : execWords(parsed.exec);
  const websocketd = websocketdFlags(parsed, exec);
  const publishToken = bearerToken('publish-token', parsed['publish-token']);
  const adminToken = bearerToken(
    'admin-token',
    parsed['admin-token'],
    '--admin-token must be at least 8 characters, without spaces',
  );
  let trustProxy: string[];
  try {
    trustProxy = [...parseTrustProxy(parsed['trust-proxy'].map(String)).entries];
  } catch (error) {
    if (!(error instanceof TrustProxyError)) throw error;
    throw new UsageError(error.message);
  }
  const redis = parsed.redis;
  const redisProblem = redis === undefined ? undefined : checkRedisUrl(redis);
  if (redisProblem !== undefined) throw new UsageError(`--redis: ${redisProblem}`);
  const config: ServerConfig = {
    workerMemoryLimit: wholeNumber(
      'worker-memory-limit',
      parsed['worker-memory-limit'],
      0,
      1_000_000,
    ),
    redis,
    history: wholeNumber('history', parsed.history, 0, 1_000_000),
    historyTtl: positive('history-ttl', parsed['history-ttl']),
    idempotencyWindow: wholeNumber('idempotency-window', parsed['idempotency-window'], 0, 86_400),
    channelExec: parsed['channel-exec'].map((value) => channelCommand(String(value))),
    host: parsed.host,
    port: wholeNumber('port', parsed.port, 0, 65535),
    maxClients: wholeNumber('max-clients', parsed['max-clients'], 1, 1_000_000),
    intervalMin,
    intervalMax,
    spareWorkers: spares.min,
    spareWorkersMax: spares.max,
    origins: websocketd.origins,
    maxMessageSize: wholeNumber('max-message-size', parsed['max-message-size'], 1, 2 ** 31 - 1),
    handshakeTimeout: positive('handshake-timeout', parsed['handshake-timeout']),
    pingInterval: nonNegative('ping-interval', parsed['ping-interval']),
    logLevel: parsed.verbose ? 'debug' : parsed['log-level'],
    logFormat: parsed['log-format'],
    exec,
    demo: parsed.demo,
    publishToken,
    maxBuffered: wholeNumber('max-buffered', parsed['max-buffered'], 16384, 2 ** 31 - 1),
    adminToken,
    trustProxy,
    ...websocketd.config,
    ...accessFlags(parsed),
    ...lifetimeFlags(parsed),
    ...drainFlags(parsed),
    auth: authSettings(parsed),
    lifecycle: lifecycleSettings(parsed),
    sandbox: sandboxFlags(parsed),
  };
  return { config, given: parsed };
}
