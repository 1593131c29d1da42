import { commaList, runsCommands, type ServerConfig } from '../../shared/config';
import { DEFAULT_PASSENV, parsePassenv } from '../../shared/pass-environment';
import { parseOriginRule } from '../../shared/protocol/origin';
import { DEFAULT_QUIT_WORDS, parseQuitWords } from '../../shared/quit-words';
import { parseExtraHeaders } from '../http/extra-headers';
import { realDirectorySync } from '../http/real-path';
import { UsageError, wholeNumber } from './usage-error';

/**
 * The flags that let a websocketd user switch (docs/websocketd.md): their
 * yargs options and their checks. Kept apart from cli.ts so that the table of what maps
 * to what is in one place. A bad value throws UsageError (one line, exit 2).
 */

export const WEBSOCKETD_OPTIONS = {
  passenv: {
    type: 'string',
    default: DEFAULT_PASSENV.join(','),
    describe: 'VAR[,VAR...]: server variables a command sees (PREFIX* patterns allowed)',
  },
  'quit-words': {
    type: 'string',
    array: true,
    describe: 'client messages that end it (default quit,exit; none with --exec or --dir)',
  },
  dir: { type: 'string', describe: 'a directory of scripts: /NAME runs DIR/NAME per client' },
  staticdir: { type: 'string', describe: 'a directory of files served over plain HTTP' },
  binary: { type: 'boolean', default: false, describe: 'raw bytes both ways (binary frames)' },
  'same-origin': {
    type: 'boolean',
    default: false,
    describe: "the Origin's host:port must be the Host header's",
  },
  'close-ms': {
    type: 'number',
    default: 100,
    describe: 'ms between stdin EOF, SIGINT, SIGTERM, SIGKILL to a command',
  },
  'reverse-lookup': {
    type: 'boolean',
    default: false,
    describe: "REMOTE_HOST is the client's host name (DNS)",
  },
  header: {
    type: 'string',
    array: true,
    default: [],
    describe: '"Name: value" on every response (repeatable)',
  },
  'header-ws': {
    type: 'string',
    array: true,
    default: [],
    describe: '"Name: value" on the 101 of an upgrade (repeatable)',
  },
  'header-http': {
    type: 'string',
    array: true,
    default: [],
    describe: '"Name: value" on plain HTTP responses (repeatable)',
  },
} as const;

/** What yargs parsed for these flags (and --origin). */
export interface WebsocketdArgs {
  origin: readonly (string | number)[];
  passenv: string;
  'quit-words'?: readonly (string | number)[];
  dir?: string;
  staticdir?: string;
  binary: boolean;
  'same-origin': boolean;
  'close-ms': number;
  'reverse-lookup': boolean;
  header: readonly (string | number)[];
  'header-ws': readonly (string | number)[];
  'header-http': readonly (string | number)[];
}

export type WebsocketdConfig = Pick<
  ServerConfig,
  | 'passenv'
  | 'quitWords'
  | 'dir'
  | 'staticDir'
  | 'binary'
  | 'sameOrigin'
  | 'closeMs'
  | 'reverseLookup'
  | 'headers'
>;

/** The longest --close-ms: a command may take 3 of them, and 2 s more, to end. */
export const MAX_CLOSE_MS = 60_000;

/** Values of a repeatable flag (a PUSH_WS_ variable arrives as one string). */
function values(value: readonly (string | number)[] | string | undefined): string[] {
  if (value === undefined) return [];
  return (typeof value === 'string' ? [value] : value).map(String);
}

/**
 * --origin entries: repeatable, and comma-separated as websocketd takes them; each one
 * `host`, `host:port` or `scheme://host[:port]`.
 */
export function originEntries(given: readonly (string | number)[] | string): string[] {
  const entries = commaList(values(given));
  const bad = entries.find((entry) => parseOriginRule(entry) === undefined);
  if (bad !== undefined) {
    throw new UsageError(
      `--origin ${JSON.stringify(bad)} is not host, host:port or scheme://host[:port]`,
    );
  }
  return entries;
}

/** The real path of a directory flag's value, checked now (as websocketd does at start). */
export function directoryFlag(flag: string, dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  if (dir.trim() === '') throw new UsageError(`--${flag} must name a directory`);
  try {
    return realDirectorySync(dir);
  } catch (error) {
    // realpath's errors carry a code (ENOENT...); "is not a directory" has none.
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === undefined ? `--${flag} ${(error as Error).message}` : `--${flag} ${dir}: ${code}`,
    );
  }
}

/** Checks the flags; `exec`: --exec's words, undefined when not given. Throws UsageError. */
export function websocketdFlags(
  parsed: WebsocketdArgs,
  exec: string[] | undefined,
): { origins: string[]; config: WebsocketdConfig } {
  const dir = directoryFlag('dir', parsed.dir);
  if (dir !== undefined && exec !== undefined) {
    throw new UsageError('--dir and --exec cannot be used together (one command, or a directory)');
  }
  const commands = runsCommands({ exec, dir });
  if (parsed.binary && !commands) throw new UsageError('--binary needs --exec or --dir');
  const quitWords =
    parsed['quit-words'] === undefined
      ? commands
        ? []
        : [...DEFAULT_QUIT_WORDS]
      : parseQuitWords(values(parsed['quit-words']));
  let passenv: string[];
  let headers: WebsocketdConfig['headers'];
  try {
    passenv = parsePassenv(String(parsed.passenv));
  } catch (error) {
    throw new UsageError(`--passenv: ${(error as Error).message}`);
  }
  try {
    headers = parseExtraHeaders({
      header: values(parsed.header),
      headerWs: values(parsed['header-ws']),
      headerHttp: values(parsed['header-http']),
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    origins: originEntries(parsed.origin),
    config: {
      passenv,
      quitWords,
      dir,
      staticDir: directoryFlag('staticdir', parsed.staticdir),
      binary: parsed.binary,
      sameOrigin: parsed['same-origin'],
      closeMs: wholeNumber('close-ms', parsed['close-ms'], 0, MAX_CLOSE_MS),
      reverseLookup: parsed['reverse-lookup'],
      headers,
    },
  };
}
