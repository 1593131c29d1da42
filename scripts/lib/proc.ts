import { readdirSync, readFileSync } from 'node:fs';

/** Facts about processes, read from /proc as `ps` would. */
export interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

export function childrenOf(ppid: number): ProcStat[] {
  const children: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name));
    if (stat?.ppid === ppid) children.push(stat);
  }
  return children;
}

/** What `ps -o args` shows: the command line with NULs as spaces, trailing ones dropped. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (VmRSS), or undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** Clock ticks a second, as /proc/PID/stat counts CPU time (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used, from /proc/PID/stat; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) of a process's children that it has reaped (waited for),
 * from /proc/PID/stat (cutime, cstime); 0 once it is gone.
 */
export function reapedChildrenCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // cutime and cstime are fields 16 and 17 of stat(5); fields[0] here is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * A process's main thread's context switches, from /proc/PID/status: voluntary (it went
 * to sleep waiting for something) and involuntary (preempted). Undefined once it is gone.
 */
export function contextSwitches(
  pid: number,
): { voluntary: number; involuntary: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const voluntary = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1];
    const involuntary = /^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1];
    if (voluntary === undefined || involuntary === undefined) return undefined;
    return { voluntary: Number(voluntary), involuntary: Number(involuntary) };
  } catch {
    return undefined;
  }
}

/**
 * Times a process's main thread went to sleep waiting for something (its
 * voluntary_ctxt_switches): a count of wake-ups. Undefined once it is gone.
 */
export function wakeUps(pid: number): number | undefined {
  return contextSwitches(pid)?.voluntary;
}

/** Nanoseconds every thread of a process has run on a CPU so far (0 once it is gone). */
export function runNs(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
      const text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
      return sum + Number(text.split(' ')[0]);
    }, 0);
  } catch {
    return 0; // gone (or a thread gone meanwhile)
  }
}

/**
 * A process's main thread, from /proc/PID/schedstat: nanoseconds run on a CPU and
 * nanoseconds waited in a run queue (both 0 once it is gone).
 */
export function schedstat(pid: number): { runNs: number; waitNs: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { runNs: run, waitNs: wait };
  } catch {
    return { runNs: 0, waitNs: 0 };
  }
}

/** Every process's children, from one pass over /proc. */
function childrenMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name)); // undefined: gone meanwhile
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  return children;
}

/** The process and all its descendants. */
export function processTree(root: number): number[] {
  const children = childrenMap();
  const tree: number[] = [];
  const visit = (pid: number): void => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return tree;
}

/** Proportional set size in KiB (shared pages divided among their sharers). */
export function pssKiB(pid: number): number {
  try {
    return Number(
      /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0,
    );
  } catch {
    return 0;
  }
}

export function threads(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

export function treePssKiB(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + pssKiB(pid), 0);
}

/**
 * A process's children, from /proc/PID/task/TID/children (one read per thread, where
 * scanning all of /proc reads a file per process on the machine).
 */
export function childPids(pid: number): number[] {
  const pids: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') pids.push(...text.split(' ').map(Number));
    }
  } catch {
    // gone meanwhile
  }
  return pids;
}

/** Resident set size peak (VmHWM) in MiB, 0 once the process is gone. */
export function peakRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round((Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}
