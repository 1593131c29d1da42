import type { HookTarget, LifecycleSettings } from '../../shared/config';
import { findExecutable } from './find-executable';
import { ShellWordsError, splitShellWords } from './shell-words';
import { positive, UsageError } from './usage-error';

/**
 * The presence and lifecycle hook flags (docs/presence.md, docs/cli.md): their yargs
 * options and their checks. A bad value throws UsageError (one line, exit 2).
 */
export const LIFECYCLE_OPTIONS = {
  'on-connect': {
    type: 'string',
    describe: 'COMMAND or http(s) URL run (POSTed JSON) when a client connects',
  },
  'on-disconnect': {
    type: 'string',
    describe: 'COMMAND or http(s) URL run when a client has gone (with its exit status)',
  },
  'on-channel': {
    type: 'string',
    describe: 'COMMAND or http(s) URL run when a channel is occupied or vacated',
  },
  'hook-timeout': {
    type: 'number',
    default: 5,
    describe: 'seconds a hook may run; then it is killed (a command) or abandoned (a URL)',
  },
  'vacate-grace': {
    type: 'number',
    default: 5,
    describe: 'seconds a channel stays occupied after its last client left',
  },
  'presence-ttl': {
    type: 'number',
    default: 15,
    describe: "with --redis: seconds a dead instance's clients stay in /presence at most",
  },
} as const;

export interface LifecycleArgs {
  'on-connect'?: string;
  'on-disconnect'?: string;
  'on-channel'?: string;
  'hook-timeout': number;
  'vacate-grace': number;
  'presence-ttl': number;
}

/** Most seconds of --hook-timeout, --vacate-grace and --presence-ttl. */
const MAX_SECONDS = 3600;
/** Fewest seconds of --presence-ttl: three heartbeats fit in it. */
const MIN_PRESENCE_TTL_S = 1;

/** A hook flag's value: an http(s) URL, or a command that must exist now (as --exec). */
export function hookTarget(flag: string, value: string | undefined): HookTarget | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^https?:\/\//i.test(text)) {
    try {
      return { kind: 'url', url: new URL(text).href };
    } catch {
      throw new UsageError(`--${flag}: not a valid URL`);
    }
  }
  let argv: string[];
  try {
    argv = splitShellWords(text);
  } catch (error) {
    if (!(error instanceof ShellWordsError)) throw error;
    throw new UsageError(`--${flag}: ${error.message}`);
  }
  const [command] = argv;
  if (command === undefined) throw new UsageError(`--${flag} must name a command or a URL`);
  if (findExecutable(command) === undefined) {
    throw new UsageError(
      command.includes('/')
        ? `--${flag}: ${JSON.stringify(command)} is not an executable file`
        : `--${flag}: command ${JSON.stringify(command)} not found in PATH`,
    );
  }
  return { kind: 'command', argv };
}

function seconds(flag: string, value: number, min = 0): number {
  const checked = positive(flag, value);
  if (checked > MAX_SECONDS || checked < min) {
    throw new UsageError(`--${flag} must be from ${min || 'above 0'} to ${MAX_SECONDS} seconds`);
  }
  return checked;
}

export function lifecycleSettings(parsed: LifecycleArgs): LifecycleSettings {
  return {
    onConnect: hookTarget('on-connect', parsed['on-connect']),
    onDisconnect: hookTarget('on-disconnect', parsed['on-disconnect']),
    onChannel: hookTarget('on-channel', parsed['on-channel']),
    hookTimeout: seconds('hook-timeout', parsed['hook-timeout']),
    vacateGrace: seconds('vacate-grace', parsed['vacate-grace']),
    presenceTtl: seconds('presence-ttl', parsed['presence-ttl'], MIN_PRESENCE_TTL_S),
  };
}
