import type { SandboxSettings } from '../../shared/command-sandbox';
import { resolveExecUser } from '../sandbox/exec-user';
import { parseExecLimits } from '../sandbox/exec-limits';
import { findExecutable } from './find-executable';
import { UsageError } from './usage-error';

/**
 * The flags that confine each client's command (docs/isolation.md): their yargs options
 * and their checks, apart from cli.ts. A bad value throws UsageError (one line, exit 2).
 */
export const SANDBOX_OPTIONS = {
  'exec-user': {
    type: 'string',
    describe:
      'USER[:GROUP]: commands run as this user (needs root, or CAP_SETUID, CAP_SETGID, CAP_KILL)',
  },
  'exec-limit': {
    type: 'string',
    array: true,
    default: [],
    describe:
      'NAME=VALUE (repeatable): cpu, as, data, nofile, fsize, core, nproc, memory, cpu-percent of each command',
  },
  'exec-cgroups': {
    choices: ['auto', 'off'] as const,
    default: 'auto' as const,
    describe: 'a cgroup per command where delegated (v2) or writable (v1): auto, or off',
  },
  'line-buffered': {
    type: 'boolean',
    default: false,
    describe: "commands' output flushed per line (stdbuf -oL, PYTHONUNBUFFERED)",
  },
} as const;

/** A wrapper program the flags need, found now (not failing every client later). */
function tool(name: string, flag: string, from: string): string {
  const file = findExecutable(name);
  if (file === undefined)
    throw new UsageError(`${flag} needs ${name} (${from}), not found in PATH`);
  return file;
}

export function sandboxFlags(parsed: {
  'exec-user'?: string;
  'exec-limit': readonly (string | number)[];
  'line-buffered': boolean;
  'exec-cgroups': 'auto' | 'off';
}): SandboxSettings {
  let user;
  if (parsed['exec-user'] !== undefined) {
    try {
      user = resolveExecUser(parsed['exec-user']);
    } catch (error) {
      throw new UsageError(`--exec-user: ${(error as Error).message}`);
    }
  }
  let limits;
  try {
    limits = parseExecLimits(parsed['exec-limit'].flatMap((entry) => String(entry).split(',')));
  } catch (error) {
    throw new UsageError(`--exec-limit: ${(error as Error).message}`);
  }
  const lineBuffered = parsed['line-buffered'];
  const tools = {
    prlimit:
      Object.keys(limits.rlimits).length > 0
        ? tool('prlimit', '--exec-limit', 'util-linux')
        : undefined,
    stdbuf: lineBuffered ? tool('stdbuf', '--line-buffered', 'coreutils') : undefined,
    // Not root: the capabilities that allow the switch must not reach the command.
    setpriv:
      user !== undefined && process.getuid?.() !== 0
        ? tool('setpriv', '--exec-user', 'util-linux')
        : undefined,
  };
  return {
    command: { user, rlimits: limits.rlimits, nproc: limits.nproc, lineBuffered, tools },
    memory: limits.memory,
    cpuPercent: limits.cpuPercent,
    cgroups: parsed['exec-cgroups'] === 'auto',
  };
}
