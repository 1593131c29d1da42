/**
 * npm run bench [-- --quick] [-- --json FILE]
 *
 * Runs, in one run on this machine: this server with --spare-workers 0, this server
 * with its default spares, and a single-process `ws` reference server with the same
 * push behaviour, all driven by the same load client (scripts/bench/load-client.ts).
 * Prints a table, checks the targets of the performance issue, and writes JSON.
 */
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WORKER_CONFIG_ENV, type WorkerConfig } from '../../src/shared/config';
import { DEFAULT_WORKER_ENTRY, WORKER_NODE_FLAGS } from '../../src/master/pool/worker-process';
import { ServerProcess } from '../lib/server-process';
import { BenchClient } from './load-client';
import { pssKiB, round, spread, threads, processTree, treePssKiB, type Spread } from './stats';

const quick = process.argv.includes('--quick');
const jsonIndex = process.argv.indexOf('--json');
const jsonFile = jsonIndex > 0 ? process.argv[jsonIndex + 1] : undefined;

const plan = quick
  ? {
      sequential: 20,
      churn: 40,
      steps: [20, 50],
      windowMs: 3000,
      forks: 5,
      bare: 5,
      stepCapMs: 30000,
    }
  : {
      sequential: 200,
      churn: 500,
      steps: [100, 500, 1000, 2000, 2500],
      windowMs: 6000,
      forks: 20,
      bare: 20,
      stepCapMs: 240000,
    };
const CHURN_CONCURRENCY = 8;
/** The steps stop opening clients when the machine has less memory than this left. */
const MEMORY_FLOOR_MIB = 1536;

function memAvailableMiB(): number {
  const info = readFileSync('/proc/meminfo', 'utf8');
  return Number(/^MemAvailable:\s+(\d+)/m.exec(info)?.[1] ?? 0) / 1024;
}
const OPEN_CONCURRENCY = 8;
const INTERVAL = ['--interval-min', '1', '--interval-max', '1'];

interface Target {
  name: string;
  start(port: number): ServerProcess;
  steps: boolean;
}

const ours =
  (spares: string[]) =>
  (port: number): ServerProcess =>
    ServerProcess.ours(['--port', String(port), '--max-clients', '3000', ...INTERVAL, ...spares]);

const targets: Target[] = [
  { name: 'push-websocket --spare-workers 0', start: ours(['--spare-workers', '0']), steps: false },
  { name: 'push-websocket (default spares)', start: ours([]), steps: true },
  {
    name: 'ws reference (one process)',
    start: (port) =>
      ServerProcess.spawn(process.execPath, [
        path.join(__dirname, 'ws-reference.js'),
        String(port),
        '1',
        '1',
      ]),
    steps: true,
  },
];

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function settle(pid: number, expectedChildren: number): Promise<void> {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline && processTree(pid).length - 1 > expectedChildren) await sleep(100);
  await sleep(300);
}

/**
 * (a) and (d): clients one after another, each started SEQUENTIAL_PERIOD_MS after the
 * last (slower than a worker starts, so that spares can keep up, as the target says).
 */
const SEQUENTIAL_PERIOD_MS = 250;

async function sequential(
  port: number,
): Promise<{ upgrade: Spread; firstPush: Spread; quit: Spread }> {
  const upgrade: number[] = [];
  const firstPush: number[] = [];
  const quit: number[] = [];
  for (let i = 0; i < plan.sequential; i++) {
    const started = performance.now();
    const client = await BenchClient.open(port);
    await client.firstPush();
    upgrade.push(client.upgradedAt - client.started);
    firstPush.push(client.firstPushAt - client.started);
    quit.push(await client.quit());
    await sleep(Math.max(0, SEQUENTIAL_PERIOD_MS - (performance.now() - started)));
  }
  return { upgrade: spread(upgrade), firstPush: spread(firstPush), quit: spread(quit) };
}

async function churn(port: number): Promise<{ clientsPerSecond: number; quit: Spread }> {
  let remaining = plan.churn;
  const quit: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CHURN_CONCURRENCY }, async () => {
      while (remaining > 0) {
        remaining--;
        const client = await BenchClient.open(port);
        await client.firstPush();
        quit.push(await client.quit());
      }
    }),
  );
  return {
    clientsPerSecond: round(plan.churn / ((performance.now() - started) / 1000), 1),
    quit: spread(quit),
  };
}

interface Step {
  target: number;
  reached: number;
  secondsToReach: number;
  gapsWithin1500: number;
  marginalPssMiB: number;
  threadsPerWorker: number;
}

async function steps(port: number, serverPid: number): Promise<Step[]> {
  const baseline = treePssKiB(serverPid);
  const clients: BenchClient[] = [];
  const results: Step[] = [];
  try {
    for (const target of plan.steps) {
      const started = Date.now();
      let failed = false;
      await Promise.all(
        Array.from({ length: OPEN_CONCURRENCY }, async () => {
          while (!failed && clients.length < target && Date.now() - started < plan.stepCapMs) {
            if (clients.length % 50 === 0 && memAvailableMiB() < MEMORY_FLOOR_MIB) {
              log(
                `stopping at ${clients.length} clients: under ${MEMORY_FLOOR_MIB} MiB of memory left`,
              );
              failed = true;
              break;
            }
            const slot = clients.length;
            clients.push(undefined as unknown as BenchClient);
            try {
              clients[slot] = await BenchClient.open(port, 60000);
            } catch (error) {
              log(`open failed at ${slot}: ${(error as Error).message}`);
              failed = true;
              clients.splice(slot, 1);
            }
          }
        }),
      );
      const secondsToReach = (Date.now() - started) / 1000;
      const live = clients.filter((c) => c !== undefined && c.closedAt === 0);
      for (const client of live) {
        client.pushTimes.length = 0;
        client.keepPushTimes = true;
      }
      await sleep(plan.windowMs);
      const windowEnd = performance.now();
      const windowStart = windowEnd - plan.windowMs;
      let within = 0;
      let total = 0;
      for (const client of live) {
        client.keepPushTimes = false;
        // The gaps inside the window, and the two that straddle its edges: a client
        // whose pushes stopped (or never came) shows up as a late gap there.
        const times = [windowStart, ...client.pushTimes, windowEnd];
        for (let i = 1; i < times.length; i++) {
          const edge = i === 1 || i === times.length - 1;
          const gap = times[i] - times[i - 1];
          if (edge && gap <= 1500) continue;
          total++;
          if (gap <= 1500) within++;
        }
      }
      const tree = processTree(serverPid).slice(1);
      const marginal = (treePssKiB(serverPid) - baseline) / 1024 / Math.max(1, live.length);
      const threadCounts = tree.length > 0 ? tree.map(threads) : [threads(serverPid)];
      const step: Step = {
        target,
        reached: live.length,
        secondsToReach: round(secondsToReach, 1),
        gapsWithin1500: round(total === 0 ? 0 : within / total, 4),
        marginalPssMiB: round(marginal, 2),
        threadsPerWorker: round(threadCounts.reduce((a, b) => a + b, 0) / threadCounts.length, 1),
      };
      log(`step ${JSON.stringify(step)}`);
      results.push(step);
      if (live.length < target) break;
    }
  } finally {
    for (const client of clients) client?.destroy();
  }
  return results;
}

interface TargetResult {
  name: string;
  sequential: { upgrade: Spread; firstPush: Spread; quit: Spread };
  churn: { clientsPerSecond: number; quit: Spread };
  steps: Step[];
}

async function runTarget(target: Target): Promise<TargetResult> {
  const port = await freePort();
  const server = target.start(port);
  try {
    await server.ready();
    await settle(server.pid, 99); // let spares start
    log(`${target.name}: sequential ${plan.sequential}`);
    const seq = await sequential(port);
    log(`${target.name}: churn ${plan.churn} x${CHURN_CONCURRENCY}`);
    const ch = await churn(port);
    let stepResults: Step[] = [];
    if (target.steps) {
      await settle(server.pid, target.name.includes('default') ? 2 : 0);
      log(`${target.name}: concurrency steps ${plan.steps.join(', ')}`);
      stepResults = await steps(port, server.pid);
    }
    return { name: target.name, sequential: seq, churn: ch, steps: stepResults };
  } finally {
    await server.stop(15000);
    await sleep(500);
  }
}

/** fork → ready for the real worker entry with the pool's flags, and its PSS when idle and alone. */
async function workerCost(): Promise<{ forkToReady: Spread; idlePssMiB: number; threads: number }> {
  const config: WorkerConfig = {
    intervalMin: 1,
    intervalMax: 1,
    maxMessageSize: 1 << 20,
    pingInterval: 30,
    exec: undefined,
    demo: true,
    maxBuffered: 1 << 20,
    debug: false,
    memoryLimitMb: 0,
    passenv: ['PATH'],
    quitWords: ['quit', 'exit'],
    binary: false,
    closeMs: 100,
    reverseLookup: false,
    serverSoftware: 'push-websocket/bench',
  };
  const ready: number[] = [];
  const pss: number[] = [];
  let threadCount = 0;
  for (let i = 0; i < plan.forks; i++) {
    const started = performance.now();
    const child = fork(DEFAULT_WORKER_ENTRY, [], {
      execArgv: WORKER_NODE_FLAGS,
      env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise((resolve) => child.once('message', resolve));
    ready.push(performance.now() - started);
    await sleep(200);
    pss.push(pssKiB(child.pid as number));
    threadCount = threads(child.pid as number);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return {
    forkToReady: spread(ready),
    idlePssMiB: round(spread(pss).p50 / 1024),
    threads: threadCount,
  };
}

/** A bare `node -e 0`: wall time p50, and CPU seconds per start (user + sys of the children). */
function bareNode(): { wallMs: Spread; cpuSeconds: number } {
  const wall: number[] = [];
  for (let i = 0; i < plan.bare; i++) {
    const started = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    wall.push(performance.now() - started);
  }
  const times = execFileSync(
    'bash',
    ['-c', `for i in $(seq ${plan.bare}); do "${process.execPath}" -e 0; done; times`],
    {
      encoding: 'utf8',
    },
  );
  const children = times.trim().split('\n')[1] ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + Number(m[1]) * 60 + Number(m[2]),
    0,
  );
  return { wallMs: spread(wall), cpuSeconds: round(seconds / plan.bare, 4) };
}

function fmt(s: Spread | undefined): string {
  return s === undefined ? '-' : `${s.p50} / ${s.p90} / ${s.p99}`;
}

async function main(): Promise<void> {
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${round(os.totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}, ${os.release()}`;
  log(`machine: ${machine}; ${quick ? 'quick' : 'full'} run`);
  const bare = bareNode();
  const worker = await workerCost();
  const results: TargetResult[] = [];
  for (const target of targets) results.push(await runTarget(target));
  const [zero, spares, reference] = results;

  const churnFloor = round((1 / bare.cpuSeconds) * os.cpus().length * 0.8, 1);
  const last = spares.steps.at(-1);
  const checks = [
    {
      target: 'first push p50 with spares ≤ 3 × ws reference + 5 ms',
      value: `${spares.sequential.firstPush.p50} ≤ ${round(3 * reference.sequential.firstPush.p50 + 5)}`,
      met: spares.sequential.firstPush.p50 <= 3 * reference.sequential.firstPush.p50 + 5,
    },
    {
      target: 'first push p99 with spares ≤ 4 × its p50',
      value: `${spares.sequential.firstPush.p99} ≤ ${round(4 * spares.sequential.firstPush.p50)}`,
      met: spares.sequential.firstPush.p99 <= 4 * spares.sequential.firstPush.p50,
    },
    {
      target: 'first push p50 with 0 spares ≤ bare node start p50 × 1.2',
      value: `${zero.sequential.firstPush.p50} ≤ ${round(bare.wallMs.p50 * 1.2)}`,
      met: zero.sequential.firstPush.p50 <= bare.wallMs.p50 * 1.2,
    },
    {
      target: 'churn ≥ 1 / (CPU s per bare start) × cores × 0.8',
      value: `${spares.churn.clientsPerSecond} ≥ ${churnFloor}`,
      met: spares.churn.clientsPerSecond >= churnFloor,
    },
    {
      target: 'connect → 101 p99 < 10 ms (with spares)',
      value: `${spares.sequential.upgrade.p99}`,
      met: spares.sequential.upgrade.p99 < 10,
    },
    {
      target: 'quit → TCP close p99 < 20 ms (with spares, sequential and churn)',
      value: `${spares.sequential.quit.p99}, ${spares.churn.quit.p99}`,
      met: spares.sequential.quit.p99 < 20 && spares.churn.quit.p99 < 20,
    },
    {
      target: `${plan.steps.at(-1)} clients held, ≥ 99 % gaps ≤ 1.5 s, ≤ 6.5 MiB marginal PSS`,
      value: last
        ? `${last.reached} clients, ${round(last.gapsWithin1500 * 100)} %, ${last.marginalPssMiB} MiB`
        : '-',
      met:
        last !== undefined &&
        last.reached >= (plan.steps.at(-1) as number) &&
        last.gapsWithin1500 >= 0.99 &&
        last.marginalPssMiB <= 6.5,
    },
  ];

  const rows: [string, ...string[]][] = [
    ['figure (ms: p50 / p90 / p99)', ...results.map((r) => r.name)],
    ['(a) connect → 101', ...results.map((r) => fmt(r.sequential.upgrade))],
    ['(a) connect → first push', ...results.map((r) => fmt(r.sequential.firstPush))],
    ['(b) churn, clients/s (8 at a time)', ...results.map((r) => String(r.churn.clientsPerSecond))],
    ['(d) quit → TCP close, sequential', ...results.map((r) => fmt(r.sequential.quit))],
    ['(d) quit → TCP close, churn', ...results.map((r) => fmt(r.churn.quit))],
  ];
  for (const [index, n] of plan.steps.entries()) {
    rows.push([
      `(c) ${n} clients: reached, gaps ≤ 1.5 s, MiB/client, threads/proc`,
      ...results.map((r) => {
        const step = r.steps[index];
        return step === undefined
          ? '-'
          : `${step.reached}, ${round(step.gapsWithin1500 * 100)} %, ${step.marginalPssMiB}, ${step.threadsPerWorker}`;
      }),
    ]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const table = rows.map(
    (row) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`,
  );
  table.splice(1, 0, `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);

  console.log(`\nMachine: ${machine}. ${quick ? 'Quick' : 'Full'} run.`);
  console.log(
    `Bare \`node -e 0\`: wall p50 ${bare.wallMs.p50} ms, ${bare.cpuSeconds} CPU s per start.`,
  );
  console.log(
    `(e) Worker: fork → ready ${fmt(worker.forkToReady)} ms; idle PSS alone ${worker.idlePssMiB} MiB; ${worker.threads} threads (flags: ${WORKER_NODE_FLAGS.join(' ')}).\n`,
  );
  console.log(table.join('\n'));
  console.log('\nTargets:');
  for (const check of checks)
    console.log(`- [${check.met ? 'met' : 'MISSED'}] ${check.target}: ${check.value}`);

  const report = { machine, quick, plan, bareNode: bare, worker, results, checks };
  if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
