/**
 * What confines each client's command (--exec, --dir, and --channel-exec's), as the
 * flags fixed it (docs/isolation.md): the user it runs as, its kernel limits, its
 * output's buffering. Types and pure helpers: the worker imports this file.
 */

/** The setrlimit(2) limits --exec-limit sets through prlimit(1), by prlimit's own names. */
export const RLIMIT_NAMES = ['cpu', 'as', 'data', 'nofile', 'fsize', 'core'] as const;
export type RlimitName = (typeof RLIMIT_NAMES)[number];

/**
 * What can end a client's command as "limit exceeded" (close 4005): the rlimits the
 * kernel enforces with a signal (cpu: SIGXCPU then SIGKILL; fsize: SIGXFSZ), the
 * per-client process count (nproc), and the cgroup's memory (an OOM kill).
 */
export type LimitName = 'cpu' | 'fsize' | 'nproc' | 'memory';

/** A user and group to run commands as (--exec-user), resolved to numbers at start. */
export interface ExecUser {
  uid: number;
  gid: number;
}

export interface CommandSandbox {
  /** --exec-user; absent: the server's own user. */
  user?: ExecUser;
  /** --exec-limit's rlimits (cpu in seconds, the rest in bytes or a count). */
  rlimits: Partial<Record<RlimitName, number>>;
  /** --exec-limit nproc: processes one client's command may have at once. */
  nproc?: number;
  /** --line-buffered: common programs flush their output per line. */
  lineBuffered: boolean;
  /**
   * Absolute paths of the wrappers in use, found at start: prlimit, stdbuf, and setpriv
   * (with --exec-user in a server that is not root: see launchOf).
   */
  tools: { prlimit?: string; stdbuf?: string; setpriv?: string };
  /** Where each command gets a cgroup of its own (found at start); absent: none. */
  cgroup?: CgroupPlan;
}

/**
 * Client cgroups: under each parent (one for v2; v1's pids and memory hierarchies),
 * a cgroup `client-WORKERPID` per command, with these limits.
 */
export interface CgroupPlan {
  version: 1 | 2;
  parents: string[];
  /** pids.max. */
  pidsMax?: number;
  /** memory.max (v2), memory.limit_in_bytes (v1). */
  memoryMax?: number;
  /** cpu.max ("QUOTA PERIOD", v2). */
  cpuMax?: string;
}

/** What the flags fix: the commands' sandbox, and the limits only a cgroup can hold. */
export interface SandboxSettings {
  command: CommandSandbox;
  /** --exec-limit memory: a client cgroup's memory.max, in bytes. */
  memory?: number;
  /** --exec-limit cpu-percent: a client cgroup's cpu.max, in percent of one CPU. */
  cpuPercent?: number;
  /** --exec-cgroups auto: client cgroups where the host allows them (off: never). */
  cgroups: boolean;
}

/** No confinement at all: the command as the server runs it. */
export const NO_SANDBOX: CommandSandbox = { rlimits: {}, lineBuffered: false, tools: {} };

/** How a command is started: its words (wrapped), added variables, and its user. */
export interface Launch {
  argv: string[];
  env: Record<string, string>;
  user?: ExecUser;
}

/**
 * The command's words wrapped in what sets its limits and buffering, each wrapper
 * exec'ing the next so that the pid spawned stays the command's own (its process group,
 * the signals, its exit status):
 *   [setpriv --inh-caps=-all --ambient-caps=-all --] prlimit --cpu=S:S+1 --as=B:B ... -- stdbuf -oL -eL COMMAND ARGS
 * prlimit(1) sets both the soft and the hard limit (cpu: the hard one a second later,
 * so that the command gets SIGXCPU first, then SIGKILL if it ignores that). stdbuf(1)
 * preloads its library, which makes C stdio line buffered; Python gets PYTHONUNBUFFERED.
 * Pure.
 */
export function launchOf(argv: readonly string[], sandbox: CommandSandbox): Launch {
  const words: string[] = [];
  const env: Record<string, string> = {};
  if (sandbox.tools.setpriv !== undefined) {
    // A server that is not root switches users with CAP_SETUID/CAP_SETGID, given as
    // ambient capabilities (systemd's AmbientCapabilities=): a switch between two
    // non-zero uids keeps them, and the command would inherit the power to become
    // anyone, root included. setpriv clears them before anything of the command runs.
    words.push(sandbox.tools.setpriv, '--inh-caps=-all', '--ambient-caps=-all', '--');
  }
  const limits = RLIMIT_NAMES.filter((name) => sandbox.rlimits[name] !== undefined);
  if (limits.length > 0) {
    words.push(sandbox.tools.prlimit ?? 'prlimit');
    for (const name of limits) {
      const value = sandbox.rlimits[name] ?? 0;
      words.push(`--${name}=${value}:${name === 'cpu' ? value + 1 : value}`);
    }
    words.push('--');
  }
  if (sandbox.lineBuffered) {
    words.push(sandbox.tools.stdbuf ?? 'stdbuf', '-oL', '-eL');
    env.PYTHONUNBUFFERED = '1';
  }
  return { argv: [...words, ...argv], env, user: sandbox.user };
}

/**
 * Which limit, if any, ended a command that exited with this signal: SIGXCPU is the
 * soft cpu limit; SIGKILL (when a cpu limit is set and nothing of ours killed it) the
 * hard one, a second later; SIGXFSZ the file size limit. Pure.
 */
export function limitOfSignal(
  signal: NodeJS.Signals | null,
  sandbox: CommandSandbox,
): LimitName | undefined {
  if (signal === 'SIGXCPU') return 'cpu';
  if (signal === 'SIGXFSZ') return 'fsize';
  if (signal === 'SIGKILL' && sandbox.rlimits.cpu !== undefined) return 'cpu';
  return undefined;
}
