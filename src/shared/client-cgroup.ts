import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import type { CgroupPlan, LimitName } from './command-sandbox';

/**
 * One client's cgroup (docs/isolation.md): a directory `client-WORKERPID` under each of
 * the plan's parents, with its limits written, the command moved in before it runs,
 * its events read (which limit it hit), and removed when the client ends. The same
 * files serve v1 and v2: each limit is written where its file exists. Used by the
 * worker, and by the master for a worker that died before it could clean up.
 */
export class ClientCgroup {
  readonly dirs: string[];

  constructor(
    private readonly plan: CgroupPlan,
    workerPid: number = process.pid,
  ) {
    this.dirs = plan.parents.map((parent) => `${parent}/client-${workerPid}`);
  }

  /** Makes the cgroups and writes the limits; throws when the kernel refuses. */
  create(): void {
    const { pidsMax, memoryMax, cpuMax } = this.plan;
    for (const dir of this.dirs) {
      mkdirSync(dir, { recursive: true });
      this.write(dir, 'pids.max', pidsMax);
      this.write(dir, 'memory.max', memoryMax);
      this.write(dir, 'memory.limit_in_bytes', memoryMax);
      // v2: an OOM kill takes the whole cgroup, not one process of the command's.
      this.write(dir, 'memory.oom.group', memoryMax === undefined ? undefined : 1);
      this.write(dir, 'cpu.max', cpuMax);
    }
  }

  /** Moves a process (the command, before it runs) into every cgroup of the client. */
  join(pid: number): void {
    for (const dir of this.dirs) writeFileSync(`${dir}/cgroup.procs`, String(pid));
  }

  /** The limit the cgroup has hit, from its event counters, if any. */
  exceeded(): LimitName | undefined {
    for (const dir of this.dirs) {
      if (this.plan.memoryMax !== undefined) {
        const events = read(dir, 'memory.events') ?? read(dir, 'memory.oom_control');
        if (counter(events, 'oom_kill') > 0) return 'memory';
      }
      if (this.plan.pidsMax !== undefined && counter(read(dir, 'pids.events'), 'max') > 0) {
        return 'nproc';
      }
    }
    return undefined;
  }

  /**
   * Kills whatever is left in the cgroups and removes them: up to 50 tries 20 ms apart
   * (a killed process leaves its cgroup when the kernel has finished with it). Never
   * blocks; resolves with whether they are gone.
   */
  async remove(): Promise<boolean> {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (this.removeOnce()) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  }

  private removeOnce(): boolean {
    let gone = true;
    for (const dir of this.dirs) {
      if (!existsSync(dir)) continue;
      for (const pid of (read(dir, 'cgroup.procs') ?? '').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      try {
        rmdirSync(dir);
      } catch {
        gone = false;
      }
    }
    return gone;
  }

  private write(dir: string, file: string, value: number | string | undefined): void {
    if (value !== undefined && existsSync(`${dir}/${file}`)) {
      writeFileSync(`${dir}/${file}`, String(value));
    }
  }
}

function read(dir: string, file: string): string | undefined {
  try {
    return readFileSync(`${dir}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** A "name N" line's N in a cgroup events file (0 when absent). Pure. */
export function counter(text: string | undefined, name: string): number {
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text ?? '');
  return match === null ? 0 : Number(match[1]);
}
