import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { counter } from '../../src/shared/client-cgroup';
import { cgroupMounts, ownCgroup, planCgroups } from '../../src/master/sandbox/cgroups';

/**
 * Finding client cgroups at start, on fake trees: this machine has no delegated v2
 * subtree, so the v2 path (the server's processes moved to a leaf, the controllers
 * handed down) is checked here on plain files, not on a real cgroup2 mount.
 */
const HYBRID_MOUNTINFO = [
  '30 25 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755',
  '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  '41 30 0:38 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '42 30 0:39 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
].join('\n');

describe('reading the cgroup tree', () => {
  test('mountinfo gives the v2 mount and the v1 pids and memory hierarchies', () => {
    const mounts = cgroupMounts(HYBRID_MOUNTINFO);
    expect(mounts.v2).toBe('/sys/fs/cgroup/unified');
    expect([...mounts.v1]).toEqual([
      ['pids', '/sys/fs/cgroup/pids'],
      ['memory', '/sys/fs/cgroup/memory'],
    ]);
  });

  test("/proc/self/cgroup gives this process's place in each hierarchy", () => {
    const text = '8:pids:/a\n4:memory:/b/c\n1:cpu,cpuacct:/d\n0::/system.slice/x.service\n';
    expect(ownCgroup(text, '')).toBe('/system.slice/x.service');
    expect(ownCgroup(text, 'memory')).toBe('/b/c');
    expect(ownCgroup(text, 'cpuacct')).toBe('/d');
    expect(ownCgroup(text, 'hugetlb')).toBeUndefined();
  });

  test('event counters are read by name, 0 when absent', () => {
    expect(counter('low 0\nhigh 3\nmax 0\noom 1\noom_kill 2\n', 'oom_kill')).toBe(2);
    expect(counter('max 7\n', 'max')).toBe(7);
    expect(counter(undefined, 'max')).toBe(0);
  });
});

describe('a delegated v2 subtree (fake files)', () => {
  let mount: string;
  beforeEach(() => {
    mount = mkdtempSync(path.join(os.tmpdir(), 'push-ws-cg2-'));
    mkdirSync(path.join(mount, 'svc'));
    writeFileSync(path.join(mount, 'svc/cgroup.controllers'), 'cpu memory pids\n');
    writeFileSync(path.join(mount, 'svc/cgroup.subtree_control'), '');
    writeFileSync(path.join(mount, 'svc/cgroup.procs'), '123\n');
  });
  afterEach(() => rmSync(mount, { recursive: true, force: true }));
  const sources = (): { selfCgroup: string; mountinfo: string } => ({
    selfCgroup: '0::/svc\n',
    mountinfo: `40 30 0:37 / ${mount} rw - cgroup2 cgroup2 rw`,
  });

  test('the server moves into a leaf, hands the controllers down, and plans the limits', () => {
    const plan = planCgroups({ pidsMax: 20, memoryMax: 64 << 20, cpuPercent: 50 }, sources());
    expect(plan).toEqual({
      version: 2,
      parents: [path.join(mount, 'svc')],
      pidsMax: 20,
      memoryMax: 64 << 20,
      cpuMax: '50000 100000',
    });
    expect(readFileSync(path.join(mount, 'svc/server/cgroup.procs'), 'utf8')).toBe('123');
    expect(readFileSync(path.join(mount, 'svc/cgroup.subtree_control'), 'utf8')).toBe(
      '+pids +memory +cpu',
    );
  });

  test('a controller missing from the subtree: no plan, and the reason names it', () => {
    writeFileSync(path.join(mount, 'svc/cgroup.controllers'), 'memory\n');
    const plan = planCgroups({ pidsMax: 20, cpuPercent: 50 }, sources());
    expect(plan).toMatch(/lacks the pids, cpu controller\(s\); cpu-percent needs cgroup v2/);
  });
});
