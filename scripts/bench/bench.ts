/**
 * npm run bench [-- --quick] [-- --json FILE] [-- --report DIR]
 *   [-- --only churn,paced,... [--servers zero,default,floor,...]]
 *
 * Runs, in one run on this machine: this server with --spare-workers 0, with its
 * default spares and with 2:12 (adaptive), the floor (a minimal fork-per-client
 * server, floor-server.ts) and a single-process `ws` reference, all driven by the same
 * load client; then a mass reconnect of ours after a restart, and a hot upgrade of the
 * same server beside it (hot-upgrade.ts), fan-out across instances, and Server-Sent
 * Events beside WebSockets (sse.ts), the first broadcast to fresh clients beside the
 * naive relay (fresh-broadcast.ts). Prints a table and the targets of the performance
 * issues (met or missed, with numbers), writes JSON, and plots (report.ts).
 *
 * --only runs some sections (sections.ts) and prints only the targets they measure, no
 * plots; --servers (roles: zero, default, adaptive, floor, ws) keeps some servers.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WorkerConfig } from '../../src/shared/config';
import {
  DEFAULT_WORKER_ENTRY,
  WORKER_NODE_FLAGS,
  workerEnvironment,
} from '../../src/master/pool/worker-process';
import { ROOT, stopStartedOnSignal } from '../lib/server-process';
import { sleep } from '../lib/sleep';
import {
  bursts,
  burstsOf,
  churnRun,
  epoch,
  mergeChurn,
  pacedInTurns,
  type Bursts,
  type Churn,
  type ChurnRun,
  type Paced,
} from './arrivals';
import { checks, type ServerResult } from './checks';
import { IdleSampler, mergeIdle, type IdleCount } from './idle-sampler';
import { CHURN_CONCURRENCY, FULL, QUICK } from './plan';
import { forkWaits, type ForkWaits } from './probe-analysis';
import { massReconnect, type Reconnect } from './reconnect';
import { hotUpgrade, hotUpgradeChecks, type HotUpgradeResult } from './hot-upgrade';
import { instancesChecks, instancesFanout, instancesTable } from './instances';
import { freshBroadcast, freshBroadcastChecks, freshBroadcastTable } from './fresh-broadcast';
import { writeReport } from './report';
import {
  FLOOR_NODE_FLAGS,
  PUBLISH_TOKEN,
  SERVERS,
  kindOf,
  probeOf,
  type ServerKind,
  type ServerRole,
} from './servers';
import { settle } from './settle';
import {
  UNMEASURED_CHURN,
  UNMEASURED_PACED,
  UNMEASURED_START,
  UNMEASURED_WORKER,
  SECTIONS,
  judged,
  missingPrograms,
  partialTable,
  sectionsOf,
  unmeasuredServer,
} from './sections';
import { sseBeside, sseTable } from './sse';
import { bareNode, withoutCaCerts, workerCosts } from './startup-cost';
import { round } from './stats';
import { peakRssMiB } from '../lib/proc';
import { steps } from './steps';
import { table } from './table';
import { flagsOrUsage } from '../lib/args';
import { freePort } from '../lib/free-port';

stopStartedOnSignal();

const { values: args } = flagsOrUsage(
  {
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      report: { type: 'string' },
      only: { type: 'string' },
      servers: { type: 'string' },
    },
  },
  'npm run bench [-- --quick] [--json FILE] [--report DIR] [--only SECTION,...] [--servers ROLE,...]',
);
/** The sections this run measures (--only), and the servers it starts (--servers). */
const run = ((): ReturnType<typeof sectionsOf> => {
  try {
    return sectionsOf(args.only);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    process.exit(2);
  }
})();
const missing = missingPrograms(run);
if (missing.length > 0) {
  const others = SECTIONS.filter(
    (section) => run.has(section) && !missing.some((m) => m.section === section),
  );
  console.error(`bench: ${missing.map((m) => m.line).join('; ')}.`);
  console.error(`Install it, or leave the section out: --only ${others.join(',')}`);
  process.exit(2);
}
const partial = args.only !== undefined;
const kinds = SERVERS.filter(
  (kind) => args.servers === undefined || args.servers.split(',').includes(kind.role),
);
const quick = args.quick;
const jsonFile = args.json;
const reportDir = args.report ?? path.join(ROOT, 'artifacts/bench');
const plan = quick ? QUICK : FULL;
/** The spare policy the bursts' target is checked with (docs/performance.md). */
const BURST_POLICY: ServerRole = 'adaptive';

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Waits until a server keeps only its idle workers (settle.ts); ours also say none is starting. */
function settled(kind: ServerKind, pid: number, port: number, quietMs?: number): Promise<void> {
  return settle(pid, kind.maxIdle, quietMs, kind.ours ? port : undefined);
}

/** What the side-by-side block measured of one server. */
interface Turns {
  churn: Churn;
  bursts?: Bursts;
  burstsAtOnce?: Bursts;
  idle?: IdleCount;
}

/**
 * Bursts after idle and churn with every server up at once, taking turns (a burst
 * each, and again; then a round of churn each, and again): machine load that comes
 * and goes (other work on a shared box) then falls on every server alike, and their
 * ratios hold. Servers not taking their turn are idle (ours keep their spares ready).
 * The bursts come first, so that the first finds each server as it starts (an adaptive
 * one at its minimum) and the later ones follow a burst of the same server.
 */
async function sideBySide(servers: ServerKind[]): Promise<Turns[]> {
  if (!run.has('bursts') && !run.has('churn'))
    return servers.map(() => ({ churn: UNMEASURED_CHURN }));
  const up = await Promise.all(
    servers.map(async (kind) => {
      const port = await freePort();
      const server = await kind.start(port).ready();
      const sampler = kind.ours ? new IdleSampler(() => server.pid).start() : undefined;
      return {
        kind,
        port,
        server,
        sampler,
        runs: [] as ChurnRun[],
        bursts: [] as number[][],
        atOnce: [] as number[][],
      };
    }),
  );
  try {
    for (const s of up) await settled(s.kind, s.server.pid, s.port, 0);
    for (let b = 0; b < (run.has('bursts') ? plan.bursts : 0); b++) {
      log(
        `burst ${b + 1} of ${plan.bursts}: ${plan.burstClients} clients in ${plan.burstSpreadMs} ms each`,
      );
      for (const s of up) {
        if (!s.kind.phases.includes('bursts')) continue;
        const one = await bursts(s.port, 1, plan.burstClients, plan.burstSpreadMs, () =>
          settled(s.kind, s.server.pid, s.port, plan.quietMs),
        );
        s.bursts.push(one.firstPushes);
      }
    }
    for (let b = 0; b < (run.has('bursts') ? plan.burstsAtOnce : 0); b++) {
      log(`burst at once ${b + 1} of ${plan.burstsAtOnce}: ${plan.burstClients} clients each`);
      for (const s of up) {
        if (!s.kind.phases.includes('bursts')) continue;
        const one = await bursts(s.port, 1, plan.burstClients, 0, () =>
          settled(s.kind, s.server.pid, s.port, plan.quietMs),
        );
        s.atOnce.push(one.firstPushes);
      }
    }
    const per = Math.ceil(plan.churn / plan.churnRounds);
    for (let round = 0; round < (run.has('churn') ? plan.churnRounds : 0); round++) {
      log(
        `churn round ${round + 1} of ${plan.churnRounds}: ${per} clients each, ${CHURN_CONCURRENCY} at a time`,
      );
      for (const s of up) {
        s.runs.push(await churnRun(s.port, per, CHURN_CONCURRENCY, s.server.pid));
      }
    }
    const bursting = (s: (typeof up)[number]): boolean =>
      run.has('bursts') && s.kind.phases.includes('bursts');
    return up.map((s) => ({
      churn: run.has('churn') ? mergeChurn(s.runs) : UNMEASURED_CHURN,
      bursts: bursting(s) ? burstsOf(s.bursts) : undefined,
      burstsAtOnce: bursting(s) ? burstsOf(s.atOnce) : undefined,
      idle: s.sampler?.stop(),
    }));
  } finally {
    for (const s of up) {
      s.sampler?.stop();
      await s.server.stop(15000);
    }
  }
}

/** What the paced block measured of one server. */
interface PacedTurn {
  sequential: Paced;
  forkWaits?: ForkWaits;
  idle?: IdleCount;
  masterPeakRssMiB?: number;
}

/**
 * (a) Paced arrivals with every server up at once, started for it and settled, taking
 * turns (arrivals.ts pacedInTurns): a client of each server per period, one after the
 * other, so that each server's figures, and their ratios, come from the same minutes.
 * A server's master probe is read for the whole block; only its own handshakes are
 * matched against its own forks.
 */
async function pacedSideBySide(servers: ServerKind[]): Promise<PacedTurn[]> {
  if (!run.has('paced')) return servers.map(() => ({ sequential: UNMEASURED_PACED }));
  const up = await Promise.all(
    servers.map(async (kind) => {
      const port = await freePort();
      const server = await kind.start(port).ready();
      const sampler = kind.ours ? new IdleSampler(() => server.pid).start() : undefined;
      return { kind, port, server, sampler };
    }),
  );
  try {
    for (const s of up) await settled(s.kind, s.server.pid, s.port, plan.quietMs);
    log(
      `paced, in turns: ${plan.sequential} turns, a client of each server every ${plan.pacedPeriodMs} ms`,
    );
    const from = epoch(performance.now());
    const measured = await pacedInTurns(
      up.map((s) => ({ port: s.port, spares: s.kind.maxIdle > 0 })),
      plan.sequential,
      plan.pacedPeriodMs,
    );
    const phase: [number, number] = [from, epoch(performance.now())];
    const turns: PacedTurn[] = [];
    for (const [i, s] of up.entries()) {
      const idle = s.sampler?.stop();
      const masterPeakRssMiB = s.kind.ours ? peakRssMiB(s.server.pid) : undefined;
      await s.server.stop(15000);
      const probe = probeOf(s.server.pid);
      turns.push({
        sequential: measured[i],
        idle,
        masterPeakRssMiB,
        forkWaits:
          probe === undefined ? undefined : forkWaits(probe, measured[i].handshakes, phase),
      });
    }
    return turns;
  } finally {
    for (const s of up) {
      s.sampler?.stop();
      await s.server.stop(15000);
    }
    await sleep(200);
  }
}

/** One server's results: the blocks in turns above, then its concurrency steps alone. */
async function alone(kind: ServerKind, turns: Turns, pacedTurn: PacedTurn): Promise<ServerResult> {
  const result: ServerResult = {
    name: kind.name,
    role: kind.role,
    sequential: pacedTurn.sequential,
    churn: turns.churn,
    bursts: turns.bursts,
    burstsAtOnce: turns.burstsAtOnce,
    steps: [],
  };
  const idle = [turns.idle, pacedTurn.idle].filter((count) => count !== undefined);
  if (idle.length > 0) result.idleWorkers = idle.reduce(mergeIdle);
  if (pacedTurn.forkWaits !== undefined) result.forkWaits = pacedTurn.forkWaits;
  if (pacedTurn.masterPeakRssMiB !== undefined) {
    result.masterPeakRssMiB = pacedTurn.masterPeakRssMiB;
  }
  if (!run.has('steps') || !kind.phases.includes('steps')) return result;
  const port = await freePort();
  const server = await kind.start(port).ready();
  try {
    await settled(kind, server.pid, port);
    log(`${kind.name}: concurrency steps ${plan.steps.join(', ')}`);
    result.steps = await steps(port, server.pid, plan, {
      publishHeaders: kind.ours ? { Authorization: `Bearer ${PUBLISH_TOKEN}` } : {},
      log,
    });
    if (kind.ours) {
      result.masterPeakRssMiB = Math.max(result.masterPeakRssMiB ?? 0, peakRssMiB(server.pid));
    }
    return result;
  } finally {
    await server.stop(15000);
    await sleep(200);
  }
}

/** (h) Mass reconnect: the default server restarted under its clients. */
async function restart(): Promise<Reconnect> {
  log(`mass reconnect: ${plan.reconnectClients} clients, restart`);
  const seed = Number(process.env.BENCH_SEED ?? Date.now() % 2 ** 31);
  log(`reconnect jitter seed ${seed} (BENCH_SEED=${seed} replays it)`);
  const { result: reconnect, server } = await massReconnect(
    plan.reconnectClients,
    plan.reconnectCapMs,
    kindOf('default').start,
    await freePort(),
    seed,
    log,
  );
  await server.stop(15000);
  log(`reconnect ${JSON.stringify({ ...reconnect, curve: reconnect.curve.length })}`);
  return reconnect;
}

/** The hot upgrade under a publisher. */
async function upgradeUnderLoad(): Promise<HotUpgradeResult> {
  log(`hot upgrade: ${plan.hotUpgradeClients} clients, SIGUSR2 under a publisher`);
  const upgrade = await hotUpgrade(plan.hotUpgradeClients, log);
  log(`hot upgrade ${JSON.stringify(upgrade)}`);
  return upgrade;
}

/** (e) Start-up: `node -e 0`, and a worker alone (ours, with CA certs, the floor's). */
async function startupCosts() {
  const bareWith = bareNode(plan.bare, process.env);
  const bare = bareNode(plan.bare, withoutCaCerts());
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
    maxLifetime: 0,
    idleTimeout: 0,
  };
  const poolEnv = workerEnvironment(config);
  const caCerts = process.env.NODE_EXTRA_CA_CERTS;
  const [worker, workerWithCaCerts, floorWorker] = await workerCosts(plan.forks, [
    { entry: DEFAULT_WORKER_ENTRY, execArgv: WORKER_NODE_FLAGS, env: poolEnv },
    {
      entry: DEFAULT_WORKER_ENTRY,
      execArgv: WORKER_NODE_FLAGS,
      env: caCerts === undefined ? poolEnv : { ...poolEnv, NODE_EXTRA_CA_CERTS: caCerts },
    },
    {
      entry: path.join(__dirname, 'floor-worker.js'),
      execArgv: FLOOR_NODE_FLAGS,
      env: { ...withoutCaCerts(), FLOOR_INTERVAL: '1' },
    },
  ]);
  log(`worker ${JSON.stringify(worker)}; with CA certs ${JSON.stringify(workerWithCaCerts)}`);
  log(`floor worker ${JSON.stringify(floorWorker)}`);
  return { bare, bareWith, worker, workerWithCaCerts, floorWorker };
}

async function main(): Promise<void> {
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${round(os.totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}, ${os.release()}`;
  const loadBefore = os.loadavg().map((l) => round(l));
  log(`machine: ${machine}; load ${loadBefore.join(' ')}; ${quick ? 'quick' : 'full'} run`);
  const { bare, bareWith, worker, workerWithCaCerts, floorWorker } = run.has('startup')
    ? await startupCosts()
    : {
        bare: UNMEASURED_START,
        bareWith: UNMEASURED_START,
        worker: UNMEASURED_WORKER,
        workerWithCaCerts: UNMEASURED_WORKER,
        floorWorker: UNMEASURED_WORKER,
      };

  const turns = await sideBySide(kinds);
  const pacedTurns = await pacedSideBySide(kinds);
  const results: ServerResult[] = [];
  for (const [i, kind] of kinds.entries()) {
    results.push(await alone(kind, turns[i], pacedTurns[i]));
  }
  const result = (role: ServerRole): ServerResult =>
    results.find((r) => r.role === role) ?? unmeasuredServer(role);
  const [zero, spares, floor, reference] = (['zero', 'default', 'floor', 'ws'] as const).map(
    result,
  );

  const reconnect = run.has('reconnect') ? await restart() : undefined;
  // The hot upgrade of the same server; (h) above is its plain restart, not measured twice.
  const upgrade = run.has('upgrade') ? await upgradeUnderLoad() : undefined;

  const pssStep = plan.steps.includes(500) ? 500 : (plan.steps.at(-1) as number);
  const list = checks({
    cores: os.cpus().length,
    steps: plan.steps,
    pssStep,
    bare,
    worker,
    floorWorker,
    zero,
    spares,
    floor,
    reference,
    reconnect,
    burstBaseline: spares,
    burstPolicy: result(BURST_POLICY),
  });
  const instances = run.has('instances')
    ? await instancesFanout(plan.instanceSizes, plan.broadcasts, log)
    : undefined;
  const sse = run.has('sse') ? await sseBeside(plan.sseClients, plan.ssePauseMs, log) : undefined;
  const fresh = run.has('fresh')
    ? await freshBroadcast(plan.freshClients, plan.broadcasts, 100, plan.freshRounds, log)
    : undefined;
  const loadAfter = os.loadavg().map((l) => round(l));
  if (
    partial ||
    reconnect === undefined ||
    upgrade === undefined ||
    instances === undefined ||
    sse === undefined ||
    fresh === undefined
  ) {
    const all = [
      ...list,
      ...(upgrade !== undefined && reconnect !== undefined
        ? hotUpgradeChecks(upgrade, reconnect)
        : []),
      ...(instances !== undefined ? instancesChecks(instances) : []),
      ...(fresh !== undefined ? freshBroadcastChecks(fresh) : []),
    ];
    const startLines = run.has('startup')
      ? [
          `(e) our worker: fork → ready p50 ${worker.forkToReady.p50} ms, ${worker.cpuSeconds} CPU s; floor's ${floorWorker.forkToReady.p50} ms, ${floorWorker.cpuSeconds} CPU s`,
        ]
      : [];
    const shown = judged(all, run);
    console.log(partialTable(results, shown, { load: [loadBefore, loadAfter], lines: startLines }));
    if (sse !== undefined) console.log(`\n${sseTable(sse)}`);
    if (fresh !== undefined) console.log(`\n${freshBroadcastTable(fresh)}`);
    const measured = { reconnect, hotUpgrade: upgrade, instances, sse, freshBroadcast: fresh };
    const partialReport = {
      machine,
      quick,
      only: [...run],
      load: { before: loadBefore, after: loadAfter },
      bareNode: bare,
      worker,
      floorWorker,
      results,
      ...measured,
      checks: shown,
    };
    if (jsonFile !== undefined) {
      writeFileSync(jsonFile, `${JSON.stringify(partialReport, null, 2)}\n`);
    }
    return;
  }
  const report = {
    machine,
    quick,
    plan,
    load: { before: loadBefore, after: loadAfter },
    flags: { worker: WORKER_NODE_FLAGS, floor: FLOOR_NODE_FLAGS },
    bareNode: bare,
    bareNodeWithCaCerts: bareWith,
    worker,
    workerWithCaCerts,
    floorWorker,
    results,
    reconnect,
    hotUpgrade: upgrade,
    instances,
    sse,
    freshBroadcast: fresh,
    checks: [
      ...list,
      ...hotUpgradeChecks(upgrade, reconnect),
      ...instancesChecks(instances),
      ...freshBroadcastChecks(fresh),
    ],
  };
  console.log(table(report));
  console.log(
    `\nFan-out across instances (publish → last delivery):\n${instancesTable(instances)}`,
  );
  console.log(`\n${sseTable(sse)}`);
  console.log(
    `\nThe first broadcast to fresh clients (${fresh.clients}, ${fresh.broadcasts} broadcasts ${fresh.gapMs} ms apart):\n${freshBroadcastTable(fresh)}`,
  );
  if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  const written = await writeReport(report, reportDir);
  console.log(`\nPlots: ${written.join(', ')}`);
}

main().catch((error: Error) => {
  // fetch() says only "fetch failed"; why (a reset, a refused connection) is its cause.
  const cause = error.cause instanceof Error ? `\ncaused by: ${error.cause.message}` : '';
  console.error(`bench failed: ${error.stack ?? error.message}${cause}`);
  process.exit(1);
});
