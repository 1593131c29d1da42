/**
 * Fan-out, ours against the naive relay (the floor's POST /publish), side by side: N
 * clients on one server, `broadcasts` publishes one after another (200 ms apart, as
 * the full bench's (g)), the time from sending POST /publish to its answer and to the
 * last client's receipt; and where the CPU went meanwhile, per delivery: the master,
 * its workers (every thread, from /proc/PID/task/TID/schedstat), this load process,
 * and the whole machine (/proc/stat). The servers take turns (ours, relay, ours,
 * relay...) at each N, so that load from other work falls on both alike.
 *
 *   node dist/scripts/bench/investigations/fanout-pair.js [--clients 500,1000] [--rounds 2]
 *     [--broadcasts 20] [--interval 1] [--kinds ours,relay] [--base DIR] [--json]
 *     [--gap 200] [--settle 1500]   (ms between broadcasts; ms from the opens to the first)
 *
 * `--base DIR`: a kind `base` runs the server built in DIR (DIR/dist/src/main.js), for
 * before/after pairs; a kind that is an absolute path runs the server built there (both
 * take flags as `ours:` does: `base:--no-demo`, `/DIR:--no-demo`);
 * `ours:FLAG+FLAG` runs ours with these flags added (`ours:--no-demo+--handshake-timeout+60`). `--interval` is the demo pushes' (the full bench pushes every 1 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { numberArg, numberListArg } from '../../lib/args';
import { freePort } from '../../lib/free-port';
import { contextSwitches, runNs, schedstat, childPids } from '../../lib/proc';
import { ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { sleep } from '../../lib/sleep';
import { broadcastOnce } from '../broadcast';
import { openClients } from '../load-client';
import { PUBLISH_TOKEN, floorServer } from '../servers';
import { round, spread } from '../stats';

stopStartedOnSignal();

interface Options {
  clients: number[];
  rounds: number;
  broadcasts: number;
  interval: number;
  kinds: string[];
  base: string | undefined;
  json: boolean;
  /** ms between broadcasts, and from the last client's open to the first broadcast. */
  gap: number;
  settle: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '500,1000' },
      rounds: { type: 'string', default: '2' },
      broadcasts: { type: 'string', default: '20' },
      interval: { type: 'string', default: '1' },
      kinds: { type: 'string', default: 'ours,relay' },
      base: { type: 'string' },
      json: { type: 'boolean', default: false },
      gap: { type: 'string', default: '200' },
      settle: { type: 'string', default: '1500' },
    },
  });
  // Bounds: this machine is shared.
  return {
    clients: numberListArg('clients', values.clients, { min: 1, max: 2000 }),
    rounds: numberArg('rounds', values.rounds, { min: 1, max: 6 }),
    broadcasts: numberArg('broadcasts', values.broadcasts, { min: 1, max: 100 }),
    interval: numberArg('interval', values.interval, { min: 0 }),
    kinds: values.kinds.split(','),
    base: values.base === undefined ? undefined : path.resolve(values.base),
    json: values.json,
    gap: numberArg('gap', values.gap, { min: 0 }),
    settle: numberArg('settle', values.settle, { min: 0 }),
  };
}

function start(kind: string, port: number, options: Options): ServerProcess {
  const interval = String(options.interval);
  const env = { ...process.env, PUSH_WS_PUBLISH_TOKEN: PUBLISH_TOKEN };
  const oursArgs = [
    '--port',
    String(port),
    '--max-clients',
    '3000',
    '--interval-min',
    interval,
    '--interval-max',
    interval,
  ];
  if (kind.startsWith('ours:')) {
    // ours:FLAG+FLAG...: ours with these flags added
    return ServerProcess.ours([...oursArgs, ...kind.slice(5).split('+')], { env });
  }
  const withFlags = /^(base|\/[^:]*):(.+)$/.exec(kind);
  if (withFlags !== null) {
    // base:FLAG+FLAG, /DIR:FLAG+FLAG: another build with these flags added (before/after)
    const dir = withFlags[1] === 'base' ? options.base : withFlags[1];
    if (dir === undefined) throw new Error('kind base needs --base DIR');
    return ServerProcess.builtIn(dir, [...oursArgs, ...withFlags[2].split('+')], { env });
  }
  switch (kind) {
    case 'ours':
      return ServerProcess.ours(oursArgs, { env });
    case 'base': {
      if (options.base === undefined) throw new Error('kind base needs --base DIR');
      return ServerProcess.builtIn(options.base, oursArgs, { env });
    }
    case 'relay':
      return floorServer(port, { interval });
    default:
      // DIR/: our server as built in DIR (another build, for before/after pairs)
      if (kind.startsWith('/')) return ServerProcess.builtIn(kind, oursArgs, { env });
      throw new Error(`unknown kind ${kind}`);
  }
}

/** The master's context switches; it must still be running. */
function switches(pid: number): { voluntary: number; involuntary: number } {
  const counts = contextSwitches(pid);
  if (counts === undefined) throw new Error(`no /proc/${pid}/status: the master is gone`);
  return counts;
}

/** Jiffies the machine was busy (every CPU), and all of them, from /proc/stat. */
function machine(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
  const values = fields.map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = values[3] + values[4]; // idle, iowait
  const steal = values[7] ?? 0; // time the hypervisor gave to others
  return { busy: total - idle - steal, total };
}

/** Minor page faults of a process (0 once gone). */
function minorFaults(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return 0;
  }
}

interface Snapshot {
  master: number;
  masterWait: number;
  workers: number;
  workerFaults: number;
  self: number;
  switches: { voluntary: number; involuntary: number };
  machine: { busy: number; total: number };
}

function snapshot(master: number, workers: number[]): Snapshot {
  const usage = process.cpuUsage();
  return {
    master: runNs(master),
    masterWait: schedstat(master).waitNs,
    workers: workers.reduce((sum, pid) => sum + runNs(pid), 0),
    workerFaults: workers.reduce((sum, pid) => sum + minorFaults(pid), 0),
    self: (usage.user + usage.system) * 1000,
    switches: switches(master),
    machine: machine(),
  };
}

/**
 * With FANOUT_PERF=DIR: `perf record -a -g` over the broadcasts, to DIR/KIND-N.data
 * (and DIR/KIND-N.pids: the master and its workers).
 */
function startPerf(name: string, master: number): ChildProcess | undefined {
  const dir = process.env.FANOUT_PERF;
  if (dir === undefined || dir === '') return undefined;
  // FANOUT_PERF_MASTER=1: the master alone (perf record -p)
  const what = process.env.FANOUT_PERF_MASTER === '1' ? ['-p', String(master)] : ['-a'];
  return spawn('perf', ['record', ...what, '-g', '-o', path.join(dir, `${name}.data`)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stopPerf(perf: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => perf.once('exit', resolve));
  perf.kill('SIGINT');
  await Promise.race([exited, sleep(30_000)]);
}

interface Run {
  kind: string;
  clients: number;
  lastP50: number;
  lastMax: number;
  /** The first broadcast's last delivery (cold code paths in every worker). */
  first: number;
  answerP50: number;
  firstAnswer: number;
  missing: number;
  /** µs of CPU per delivery. */
  masterUs: number;
  /** The master's µs per delivery in the first broadcast alone. */
  firstMasterUs: number;
  /** ms the master waited for a CPU per broadcast (the later ones), and in the first. */
  masterWaitMs: number;
  firstMasterWaitMs: number;
  /** The machine's µs per delivery in the first broadcast alone. */
  firstMachineUs: number;
  workersUs: number;
  /** Workers' µs per delivery in the first broadcast alone. */
  firstWorkersUs: number;
  /** Workers' minor page faults per delivery, and in the first broadcast alone. */
  faults: number;
  firstFaults: number;
  loadUs: number;
  machineUs: number;
  /** The master's context switches per delivery. */
  masterSwitches: number;
  masterInvoluntary: number;
}

async function measure(kind: string, clients: number, options: Options): Promise<Run> {
  const port = await freePort();
  const server = await start(kind, port, options).ready(30_000);
  try {
    const open = await openClients(port, clients, { timeoutMs: 60_000, deadlineMs: 240_000 });
    // This process's first fetch() loads undici (0.2-0.6 s here): not in a broadcast's time.
    await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
    await sleep(options.settle);
    const workers = childPids(server.pid);
    if (process.env.FANOUT_PERF) {
      writeFileSync(
        path.join(process.env.FANOUT_PERF, `${kind}-${clients}.pids`),
        `master ${server.pid}\nworkers ${workers.join(' ')}\nload ${process.pid}\n`,
      );
    }
    const last: number[] = [];
    const answers: number[] = [];
    let missing = 0;
    const perf = startPerf(`${kind}-${clients}`, server.pid);
    if (perf !== undefined) await sleep(1500);
    const before = snapshot(server.pid, workers);
    let firstDone = before;
    for (let b = 0; b < options.broadcasts; b++) {
      const { lastMs, delays, answerMs } = await broadcastOnce(port, open, `pair ${b}`, {
        Authorization: `Bearer ${PUBLISH_TOKEN}`,
      });
      answers.push(answerMs);
      missing += open.length - delays.length;
      last.push(lastMs);
      if (b === 0) firstDone = snapshot(server.pid, workers);
      await sleep(options.gap);
    }
    const after = snapshot(server.pid, workers);
    if (process.env.FANOUT_VERBOSE)
      console.log(`  ${kind} ${clients} each: ${last.map((v) => round(v, 0)).join(' ')}`);
    if (perf !== undefined) await stopPerf(perf);
    for (const client of open) client.destroy();
    const deliveries = options.broadcasts * clients;
    const per = (ns: number): number => round(ns / 1000 / deliveries, 1);
    const jiffyNs = 1e9 / 100;
    const l = spread(last);
    return {
      kind,
      clients,
      lastP50: l.p50,
      lastMax: l.max,
      first: round(last[0]),
      answerP50: spread(answers).p50,
      firstAnswer: round(answers[0]),
      firstMasterUs: round((firstDone.master - before.master) / 1000 / clients, 1),
      masterWaitMs: round(
        (after.masterWait - firstDone.masterWait) / 1e6 / (options.broadcasts - 1 || 1),
        1,
      ),
      firstMasterWaitMs: round((firstDone.masterWait - before.masterWait) / 1e6, 1),
      firstMachineUs: per(
        (firstDone.machine.busy - before.machine.busy) * jiffyNs * options.broadcasts,
      ),
      missing,
      masterUs: per(after.master - before.master),
      workersUs: per(after.workers - before.workers),
      firstWorkersUs: round((firstDone.workers - before.workers) / 1000 / clients, 1),
      faults: round((after.workerFaults - before.workerFaults) / deliveries, 2),
      firstFaults: round((firstDone.workerFaults - before.workerFaults) / clients, 2),
      loadUs: per(after.self - before.self),
      machineUs: per((after.machine.busy - before.machine.busy) * jiffyNs),
      masterSwitches: round(
        (after.switches.voluntary +
          after.switches.involuntary -
          before.switches.voluntary -
          before.switches.involuntary) /
          deliveries,
        3,
      ),
      masterInvoluntary: round(
        (after.switches.involuntary - before.switches.involuntary) / deliveries,
        3,
      ),
    };
  } finally {
    await server.stop(20_000);
    await sleep(1000);
  }
}

function line(run: Run): string {
  return (
    `${run.kind.padEnd(6)} ${String(run.clients).padStart(5)}: last p50 ${run.lastP50} / max ${run.lastMax} ms` +
    ` (first ${run.first}, its answer ${run.firstAnswer}),` +
    ` answer p50 ${run.answerP50} ms, missing ${run.missing};` +
    ` µs CPU per delivery: master ${run.masterUs} (first ${run.firstMasterUs}), workers ${run.workersUs} (first ${run.firstWorkersUs}),` +
    ` load ${run.loadUs},` +
    ` (worker page faults/delivery ${run.faults}, first ${run.firstFaults})` +
    ` machine ${run.machineUs} (first ${run.firstMachineUs});` +
    ` master waited for a CPU ${run.masterWaitMs} ms per broadcast (first ${run.firstMasterWaitMs});` +
    ` master switches/delivery ${run.masterSwitches}` +
    ` (involuntary ${run.masterInvoluntary})`
  );
}

async function main(): Promise<void> {
  const options = parseOptions();
  const runs: Run[] = [];
  for (const clients of options.clients) {
    for (let round = 0; round < options.rounds; round++) {
      // Alternate which kind goes first, round by round.
      const kinds = round % 2 === 0 ? options.kinds : [...options.kinds].reverse();
      for (const kind of kinds) {
        const run = await measure(kind, clients, options);
        runs.push(run);
        console.log(line(run));
      }
    }
  }
  console.log('\nmedians of rounds:');
  for (const clients of options.clients) {
    for (const kind of options.kinds) {
      const mine = runs.filter((r) => r.kind === kind && r.clients === clients);
      const med = (pick: (r: Run) => number): number => spread(mine.map(pick)).p50;
      console.log(
        `${kind.padEnd(6)} ${String(clients).padStart(5)}: last p50 ${med((r) => r.lastP50)} / max ${med((r) => r.lastMax)} ms;` +
          ` master ${med((r) => r.masterUs)} µs, workers ${med((r) => r.workersUs)} µs,` +
          ` load ${med((r) => r.loadUs)} µs, machine ${med((r) => r.machineUs)} µs per delivery`,
      );
    }
  }
  if (options.json) console.log(JSON.stringify(runs));
}

main().catch((error: Error) => {
  console.error(`fanout-pair failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
