import { accessSync, constants, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CgroupPlan, SandboxSettings } from '../../shared/command-sandbox';

/**
 * Where each client's command can get a cgroup of its own (docs/isolation.md), found
 * once at start. cgroup v2: the service's own cgroup (`0::/path` of /proc/self/cgroup)
 * is delegated to it (systemd Delegate=yes) when its cgroup.subtree_control is
 * writable and the controllers are there; the server then moves its own processes into
 * a leaf `server/` (v2 allows no process in a cgroup that hands controllers down) and
 * each command gets a sibling `client-WORKERPID/`. cgroup v1 (hybrid hosts): the pids
 * and memory hierarchies, where the server may create cgroups (as root). Anything
 * else: no cgroup, and the reason, for one line at start.
 */

export interface CgroupWants {
  pidsMax?: number;
  memoryMax?: number;
  cpuPercent?: number;
}

/** The default period of cpu.max, in microseconds. */
const CPU_PERIOD_US = 100_000;

interface Sources {
  /** /proc/self/cgroup's text. */
  selfCgroup: string;
  /** /proc/self/mountinfo's text. */
  mountinfo: string;
}

function readSources(): Sources {
  return {
    selfCgroup: readFileSync('/proc/self/cgroup', 'utf8'),
    mountinfo: readFileSync('/proc/self/mountinfo', 'utf8'),
  };
}

/** Mount points by filesystem type and, for v1, controller (from mountinfo). Pure. */
export function cgroupMounts(mountinfo: string): { v2?: string; v1: Map<string, string> } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (right === undefined) continue;
    const [fstype, , options = ''] = right.split(' ');
    const mountPoint = left.split(' ')[4];
    if (fstype === 'cgroup2') v2 ??= mountPoint;
    if (fstype === 'cgroup') {
      for (const option of options.split(',')) {
        if (option === 'pids' || option === 'memory') v1.set(option, mountPoint);
      }
    }
  }
  return { v2, v1 };
}

/** The cgroup path of this process in a hierarchy ("" for v2's `0::`). Pure. */
export function ownCgroup(selfCgroup: string, controller: string): string | undefined {
  for (const line of selfCgroup.split('\n')) {
    const [id, controllers = '', ...rest] = line.split(':');
    if (rest.length === 0) continue; // a blank line
    const where = rest.join(':');
    if (
      controller === ''
        ? id === '0' && controllers === ''
        : controllers.split(',').includes(controller)
    ) {
      return where;
    }
  }
  return undefined;
}

function writable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** v2: the delegated cgroup prepared (server/ leaf, controllers on), or why not. */
function prepareV2(mount: string, own: string, wants: CgroupWants): CgroupPlan | string {
  const dir = path.join(mount, own);
  const needed = [
    ...(wants.pidsMax !== undefined ? ['pids'] : []),
    ...(wants.memoryMax !== undefined ? ['memory'] : []),
    ...(wants.cpuPercent !== undefined ? ['cpu'] : []),
  ];
  const available = readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  const missing = needed.filter((name) => !available.includes(name));
  if (missing.length > 0) return `cgroup v2 ${dir} lacks the ${missing.join(', ')} controller(s)`;
  if (!writable(path.join(dir, 'cgroup.subtree_control'))) {
    return `cgroup v2 ${dir} is not delegated to this service (no Delegate=yes)`;
  }
  const server = path.join(dir, 'server');
  mkdirSync(server, { recursive: true });
  for (const pid of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
    if (pid !== '') writeFileSync(path.join(server, 'cgroup.procs'), pid);
  }
  writeFileSync(
    path.join(dir, 'cgroup.subtree_control'),
    needed.map((name) => `+${name}`).join(' '),
  );
  return { version: 2, parents: [dir], ...limitsOf(wants) };
}

/** v1: a parent cgroup of this server's in each hierarchy it needs, or why not. */
function prepareV1(
  mounts: Map<string, string>,
  selfCgroup: string,
  wants: CgroupWants,
): CgroupPlan | string {
  if (wants.cpuPercent !== undefined) return 'cpu-percent needs cgroup v2';
  const needed = [
    ...(wants.pidsMax !== undefined ? ['pids'] : []),
    ...(wants.memoryMax !== undefined ? ['memory'] : []),
  ];
  const parents: string[] = [];
  for (const controller of needed) {
    const mount = mounts.get(controller);
    const own = ownCgroup(selfCgroup, controller);
    if (mount === undefined || own === undefined) return `no cgroup v1 ${controller} hierarchy`;
    const parent = path.join(mount, own, `push-websocket-${process.pid}`);
    try {
      mkdirSync(parent);
    } catch (error) {
      for (const made of parents) rmdirSync(made);
      return `cannot create ${parent} (${(error as NodeJS.ErrnoException).code})`;
    }
    parents.push(parent);
  }
  return { version: 1, parents, ...limitsOf(wants) };
}

function limitsOf(wants: CgroupWants): Omit<CgroupPlan, 'version' | 'parents'> {
  return {
    pidsMax: wants.pidsMax,
    memoryMax: wants.memoryMax,
    cpuMax:
      wants.cpuPercent === undefined
        ? undefined
        : `${Math.round((wants.cpuPercent / 100) * CPU_PERIOD_US)} ${CPU_PERIOD_US}`,
  };
}

/**
 * The client cgroups' plan, or the one-line reason there is none. Prefers a delegated
 * v2 cgroup; else v1's pids and memory hierarchies.
 */
export function planCgroups(
  wants: CgroupWants,
  sources: Sources = readSources(),
): CgroupPlan | string {
  const mounts = cgroupMounts(sources.mountinfo);
  const own = ownCgroup(sources.selfCgroup, '');
  let v2Problem = 'no cgroup v2 hierarchy';
  if (mounts.v2 !== undefined && own !== undefined) {
    try {
      const plan = prepareV2(mounts.v2, own, wants);
      if (typeof plan !== 'string') return plan;
      v2Problem = plan;
    } catch (error) {
      v2Problem = `cgroup v2: ${(error as Error).message}`;
    }
  }
  const v1 = prepareV1(mounts.v1, sources.selfCgroup, wants);
  return typeof v1 === 'string' ? `${v2Problem}; ${v1}` : v1;
}

/** Removes what planCgroups made for v1 (the per-server parents); v2's stays the unit's. */
export function removeCgroupParents(plan: CgroupPlan): void {
  if (plan.version !== 1) return;
  for (const parent of plan.parents) {
    try {
      rmdirSync(parent);
    } catch {
      // a client cgroup left behind (a command stuck in the kernel): the parent stays
    }
  }
}

/**
 * At start: the client cgroups the flags ask for (--exec-limit nproc, memory,
 * cpu-percent, with --exec-cgroups auto), set into the commands' sandbox; one log line
 * saying what is used, or that there is no delegated cgroup and what is then not
 * enforced. Returns the plan (removeCgroupParents at stop), or undefined.
 */
export function prepareClientCgroups(
  settings: SandboxSettings | undefined,
  runsCommands: boolean,
  log: { info(line: string): void; warn(line: string): void },
): CgroupPlan | undefined {
  if (settings === undefined || !runsCommands || !settings.cgroups) return undefined;
  const wants: CgroupWants = {
    pidsMax: settings.command.nproc,
    memoryMax: settings.memory,
    cpuPercent: settings.cpuPercent,
  };
  if (Object.values(wants).every((value) => value === undefined)) return undefined;
  const plan = planCgroups(wants);
  if (typeof plan === 'string') {
    const lost = [
      ...(wants.memoryMax !== undefined ? ['memory'] : []),
      ...(wants.cpuPercent !== undefined ? ['cpu-percent'] : []),
    ];
    log.warn(
      `No client cgroups (${plan}): ${lost.length > 0 ? `--exec-limit ${lost.join(', ')} not enforced` : 'nothing lost'}${wants.pidsMax !== undefined ? '; nproc is watched in /proc' : ''}`,
    );
    return undefined;
  }
  settings.command.cgroup = plan;
  log.info(`Client cgroups: v${plan.version} under ${plan.parents.join(', ')}`);
  return plan;
}
