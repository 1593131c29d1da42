import { fork, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { runNs, pssKiB, threads } from '../lib/proc';
import { round, spread, type Spread } from './stats';
import { sleep } from '../lib/sleep';

/**
 * What one Node start costs here: a bare `node -e 0`, and a worker forked alone (the
 * pool's or the floor's) up to its ready message, its idle PSS with no sibling to
 * share pages with, and the CPU it used to get there.
 */
export interface StartCost {
  wallMs: Spread;
  /** CPU seconds per start (all threads, from /proc/PID/task/TID/schedstat). */
  cpuSeconds: number;
}

export interface WorkerCost {
  forkToReady: Spread;
  idlePssMiB: number;
  threads: number;
  cpuSeconds: number;
}

/** The environment without NODE_EXTRA_CA_CERTS (as the pool gives its workers). */
export function withoutCaCerts(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.NODE_EXTRA_CA_CERTS;
  return copy;
}

/** `node -e 0` run `runs` times with this environment: wall time, and CPU from getrusage. */
export function bareNode(runs: number, env: NodeJS.ProcessEnv): StartCost {
  const wall: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { env });
    wall.push(performance.now() - started);
  }
  // CPU of children is only in RUSAGE_CHILDREN, which Node does not expose: the shell's
  // `times` prints it for a loop of the same starts.
  const times = spawnSync(
    'bash',
    ['-c', `for i in $(seq ${runs}); do "${process.execPath}" -e 0; done; times`],
    { env, encoding: 'utf8' },
  ).stdout;
  const children = times.trim().split('\n')[1] ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + Number(m[1]) * 60 + Number(m[2]),
    0,
  );
  return { wallMs: spread(wall), cpuSeconds: round(seconds / runs, 4) };
}

/** A worker to fork: its entry, Node flags and environment. */
export interface WorkerKind {
  entry: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
}

interface Sample {
  ready: number[];
  pss: number[];
  cpu: number[];
  threads: number;
}

async function forkOnce(kind: WorkerKind, sample: Sample): Promise<void> {
  const started = performance.now();
  const child = fork(kind.entry, [], {
    execArgv: kind.execArgv,
    env: kind.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve) => child.once('message', resolve));
  sample.ready.push(performance.now() - started);
  await sleep(200);
  const pid = child.pid as number;
  sample.pss.push(pssKiB(pid));
  sample.cpu.push(runNs(pid) / 1e9);
  sample.threads = threads(pid);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

/**
 * Forks each kind `forks` times, one at a time and interleaved (a, b, c, a, b, c...)
 * so that every kind meets the same machine load: fork → first IPC message (ready),
 * then, 200 ms later, its PSS, threads and CPU so far.
 */
export async function workerCosts(forks: number, kinds: WorkerKind[]): Promise<WorkerCost[]> {
  const samples: Sample[] = kinds.map(() => ({ ready: [], pss: [], cpu: [], threads: 0 }));
  for (let i = 0; i < forks; i++) {
    for (const [k, kind] of kinds.entries()) await forkOnce(kind, samples[k]);
  }
  return samples.map((sample) => ({
    forkToReady: spread(sample.ready),
    idlePssMiB: round(spread(sample.pss).p50 / 1024),
    threads: sample.threads,
    cpuSeconds: round(sample.cpu.reduce((a, b) => a + b, 0) / Math.max(1, sample.cpu.length), 4),
  }));
}
