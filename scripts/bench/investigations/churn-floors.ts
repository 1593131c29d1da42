/**
 * node dist/scripts/bench/investigations/churn-floors.js [--rounds 3] [--clients 100]
 *   [--kinds ours0,ours,floor,floor-pool,floor-2] [--base DIR]
 *
 * Why ours is slower than the floor at churn (connect, first push, quit; 8 at a time),
 * and why two floors disagree: every kind is up at once and they take turns, a round of
 * `--clients` each, `--rounds` times (the order reversed every other round). Kinds: ours0
 * (--spare-workers 0), ours (default spares), floor (the bench's: fork on connect, every
 * waiting client at once, --v8-pool-size=1), floor-pool (the same without
 * --v8-pool-size=1: V8's default thread pool), floor-2 (at most 2 workers starting at
 * once, as our pool's one per core here). A kind may carry variations after a colon,
 * joined by `+`: `NAME=VALUE` goes to its environment, anything else is an argument
 * (ours: a flag, `ours0:--spare-workers+1`; floor: floor-server.ts's, `floor:--nice+5`).
 * `base0` and `base` are ours0 and ours as built in the checkout `--base DIR`
 * (before/after pairs).
 *
 * Prints clients/s per round with the load average, the medians, ours against each
 * floor (per round and medians), and CPU per client: the master's own and its reaped
 * workers' (/proc/PID/stat utime+stime, cutime+cstime), which machine load moves far
 * less than wall time.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { freePort } from '../../lib/free-port';
import { ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { churnRun } from '../arrivals';
import { CHURN_CONCURRENCY } from '../plan';
import { floorServer, ours } from '../servers';
import { settle } from '../settle';
import { round, spread } from '../stats';

stopStartedOnSignal();

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '100' },
    kinds: { type: 'string', default: 'ours0,ours,floor,floor-pool,floor-2' },
    base: { type: 'string' },
  },
});
const rounds = numberArg('rounds', args.rounds, { min: 1, max: 10 });
const clients = numberArg('clients', args.clients, { min: 8, max: 1000 });
const kinds = args.kinds.split(',');

/** A kind's base name and its variations (environment, arguments). */
function variations(kind: string): { base: string; env: NodeJS.ProcessEnv; extra: string[] } {
  const [base, rest = ''] = kind.split(/:(.*)/s);
  const env: NodeJS.ProcessEnv = {};
  const extra: string[] = [];
  for (const part of rest.split('+').filter((p) => p !== '')) {
    const assignment = /^([A-Z_][A-Z0-9_]*)=(.*)$/s.exec(part);
    if (assignment !== null) env[assignment[1]] = assignment[2];
    else extra.push(part);
  }
  return { base, env, extra };
}

/** Idle workers a kind keeps when no client is connected. */
function sparesOf(kind: string): number {
  const { base, extra } = variations(kind);
  const flag = extra.indexOf('--spare-workers');
  if (flag >= 0) return Number(extra[flag + 1]?.split(':').at(-1));
  return base === 'ours' || base === 'base' ? 2 : 0;
}

function start(kind: string, port: number): ServerProcess {
  const { base, env, extra } = variations(kind);
  const floorEnv = (nodeFlags?: string[]) => ({ nodeFlags, args: extra, env });
  switch (base) {
    case 'ours0':
      return ours(['--spare-workers', '0', ...extra], undefined, env)(port);
    case 'ours':
      return ours(extra, undefined, env)(port);
    case 'base0':
    case 'base':
      if (args.base === undefined) throw new Error(`${base} needs --base DIR`);
      return ours(
        [...(base === 'base0' ? ['--spare-workers', '0'] : []), ...extra],
        args.base,
        env,
      )(port);
    case 'floor':
      return floorServer(port, floorEnv());
    case 'floor-pool':
      return floorServer(port, floorEnv([]));
    case 'floor-2':
      return floorServer(port, {
        ...floorEnv(),
        args: ['--max-starting', String(os.cpus().length), ...extra],
      });
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

interface Round {
  rate: number;
  /** ms of CPU per client: the master's own, and its workers' (reaped). */
  masterMs: number;
  workersMs: number;
}

async function main(): Promise<void> {
  const up = await Promise.all(
    kinds.map(async (kind) => {
      const port = await freePort();
      return { kind, port, server: await start(kind, port).ready(30_000), runs: [] as Round[] };
    }),
  );
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? up : [...up].reverse();
      for (const s of order) {
        await settle(s.server.pid, sparesOf(s.kind), 500, undefined);
        const pid = s.server.pid;
        // The last workers are reaped a moment after their clients saw the close.
        const run = await churnRun(s.port, clients, CHURN_CONCURRENCY, pid, () =>
          settle(pid, sparesOf(s.kind), 200, undefined),
        );
        const perClient = (seconds: number): number => round((seconds * 1000) / run.clients, 1);
        s.runs.push({
          rate: round(run.clients / run.seconds, 1),
          masterMs: perClient(run.serverCpuS),
          workersMs: perClient(run.workersCpuS),
        });
        const last = s.runs.at(-1) as Round;
        console.log(
          `round ${r + 1}: ${s.kind} ${last.rate} clients/s; CPU per client: master ${last.masterMs} ms, workers ${last.workersMs} ms; load ${os.loadavg()[0].toFixed(1)}`,
        );
      }
    }
  } finally {
    await Promise.all(up.map((s) => s.server.stop(15_000)));
  }
  const median = (s: (typeof up)[number], key: keyof Round): number =>
    spread(s.runs.map((run) => run[key])).p50;
  console.log('\nmedians of rounds (range); CPU per client, ms: master + workers');
  for (const s of up) {
    const rates = s.runs.map((run) => run.rate);
    console.log(
      `${s.kind}: ${median(s, 'rate')} clients/s (${Math.min(...rates)}-${Math.max(...rates)}); ` +
        `CPU ${median(s, 'masterMs')} + ${median(s, 'workersMs')} ms`,
    );
  }
  const isFloor = (kind: string): boolean => variations(kind).base.startsWith('floor');
  for (const mine of up.filter((s) => !isFloor(s.kind))) {
    for (const floorKind of up.filter((s) => isFloor(s.kind))) {
      const ratios = mine.runs.map((run, i) => round(run.rate / floorKind.runs[i].rate, 2));
      console.log(
        `${mine.kind} / ${floorKind.kind}: ${round(median(mine, 'rate') / median(floorKind, 'rate'), 2)}` +
          ` (per round ${ratios.join(', ')})`,
      );
    }
  }
}

main().catch((error: Error) => {
  console.error(`churn-floors failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
