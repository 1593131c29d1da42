import { RLIMIT_NAMES, type RlimitName } from '../../shared/command-sandbox';

/**
 * --exec-limit NAME=VALUE, the limits of each client's command (docs/isolation.md).
 * Pure: values checked and converted, every fault an Error naming the entry.
 */

/** Limits counted in bytes: a K, M or G suffix multiplies by 1024, 1024², 1024³. */
const BYTE_LIMITS: ReadonlySet<string> = new Set(['as', 'data', 'fsize', 'core', 'memory']);

/** Every name --exec-limit takes: the rlimits, and the per-client ones. */
export const EXEC_LIMIT_NAMES = [...RLIMIT_NAMES, 'nproc', 'memory', 'cpu-percent'] as const;
export type ExecLimitName = (typeof EXEC_LIMIT_NAMES)[number];

export interface ExecLimits {
  /** Set by prlimit(1) around the command. */
  rlimits: Partial<Record<RlimitName, number>>;
  /** Processes one client's command may have (a pids cgroup, else a watch of its group). */
  nproc?: number;
  /** Bytes of memory (a cgroup's memory.max): only where a cgroup is delegated. */
  memory?: number;
  /** Percent of one CPU (a cgroup's cpu.max): only where a v2 cgroup is delegated. */
  cpuPercent?: number;
}

const SUFFIX: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** One value: a whole number (bytes may carry K, M or G); 0 only for core. */
function limitValue(name: ExecLimitName, text: string): number {
  const bytes = BYTE_LIMITS.has(name);
  const match = (bytes ? /^(\d+)([KMG]?)$/i : /^(\d+)()$/).exec(text.trim());
  const value = match === null ? NaN : Number(match[1]) * SUFFIX[match[2].toUpperCase()];
  const least = name === 'core' ? 0 : 1;
  if (!Number.isSafeInteger(value) || value < least) {
    const unit = bytes ? 'bytes, with an optional K, M or G' : 'a whole number';
    throw new Error(`${name}=${text}: the value must be ${unit}, ${least} or more`);
  }
  if (name === 'cpu-percent' && value > 100_000) {
    throw new Error(`cpu-percent=${text}: at most 100000 (1000 CPUs)`);
  }
  return value;
}

function isLimitName(name: string): name is ExecLimitName {
  return (EXEC_LIMIT_NAMES as readonly string[]).includes(name);
}

/** Every --exec-limit entry (comma-separated or repeated), checked; a name at most once. */
export function parseExecLimits(entries: readonly string[]): ExecLimits {
  const limits: ExecLimits = { rlimits: {} };
  const seen = new Set<string>();
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    const name = entry.slice(0, equals).trim().toLowerCase();
    if (equals < 0 || !isLimitName(name)) {
      throw new Error(
        `must be NAME=VALUE, NAME one of ${EXEC_LIMIT_NAMES.join(', ')} (got ${JSON.stringify(entry)})`,
      );
    }
    if (seen.has(name)) throw new Error(`${name} is given twice`);
    seen.add(name);
    const value = limitValue(name, entry.slice(equals + 1));
    switch (name) {
      case 'nproc':
        limits.nproc = value;
        break;
      case 'memory':
        limits.memory = value;
        break;
      case 'cpu-percent':
        limits.cpuPercent = value;
        break;
      default:
        limits.rlimits[name] = value;
    }
  }
  return limits;
}
