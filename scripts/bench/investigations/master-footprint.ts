/**
 * node dist/scripts/bench/investigations/master-footprint.js [--kinds ours,floor,/DIR]
 *   [--rounds 3] [--clients 30] [--period 200]
 *
 * What the master's own memory costs a client when every client is a fork(): each kind
 * starts with --spare-workers 0 (ours; /DIR: ours as built in another checkout, for
 * before/after pairs; floor: the minimal fork-per-client server), then `--clients`
 * clients arrive one every `--period` ms. Prints the master's RssAnon, RssFile and page
 * tables (VmPTE) once it is ready, how long each fork() blocked it (ours: the master
 * probe), and connect → first push. The kinds take turns, round after round, so that
 * load from other work falls on all of them; the last lines are medians of the rounds.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { freePort } from '../../lib/free-port';
import { ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { sleep } from '../../lib/sleep';
import { paced } from '../arrivals';
import { floorServer, ours, probeOf } from '../servers';
import { round, spread } from '../stats';

stopStartedOnSignal();

const { values: args } = parseArgs({
  options: {
    kinds: { type: 'string', default: 'ours,floor' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '30' },
    period: { type: 'string', default: '200' },
  },
});
const kinds = args.kinds.split(',');
const rounds = numberArg('rounds', args.rounds, { min: 1, max: 10 });
const clients = numberArg('clients', args.clients, { min: 1, max: 500 });
const period = numberArg('period', args.period, { min: 0 });

interface Run {
  kind: string;
  rssAnonMiB: number;
  rssFileMiB: number;
  pteKiB: number;
  forkP50: number;
  forkP90: number;
  firstPushP50: number;
  firstPushP90: number;
}

/** A field of /proc/PID/status in KiB. */
function statusKiB(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
}

function start(kind: string, port: number): ServerProcess {
  if (kind === 'floor') return floorServer(port);
  const root = kind === 'ours' ? undefined : kind;
  return ours(['--spare-workers', '0'], root)(port);
}

async function measure(kind: string): Promise<Run> {
  const port = await freePort();
  const server = await start(kind, port).ready(30_000);
  let stopped = false;
  try {
    await sleep(1000);
    const memory = {
      rssAnonMiB: round(statusKiB(server.pid, 'RssAnon') / 1024, 1),
      rssFileMiB: round(statusKiB(server.pid, 'RssFile') / 1024, 1),
      pteKiB: statusKiB(server.pid, 'VmPTE'),
    };
    const run = await paced(port, clients, period);
    await server.stop(15_000);
    stopped = true;
    const forks = spread((probeOf(server.pid)?.forks ?? []).map(([a, b]) => b - a));
    return {
      kind,
      ...memory,
      forkP50: forks.p50,
      forkP90: forks.p90,
      firstPushP50: run.firstPush.p50,
      firstPushP90: run.firstPush.p90,
    };
  } finally {
    if (!stopped) await server.stop(15_000);
  }
}

const line = (r: Run): string =>
  `${r.kind}: master RssAnon ${r.rssAnonMiB} MiB, RssFile ${r.rssFileMiB} MiB, VmPTE ${r.pteKiB} KiB;` +
  ` fork() blocks p50 / p90 ${r.forkP50} / ${r.forkP90} ms;` +
  ` connect → first push p50 / p90 ${r.firstPushP50} / ${r.firstPushP90} ms`;

async function main(): Promise<void> {
  const runs: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    // Each round in another order: no kind always follows the same one.
    const order = r % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      const run = await measure(kind);
      runs.push(run);
      console.log(`round ${r + 1}: ${line(run)}`);
    }
  }
  console.log('\nmedians of rounds (and ranges):');
  for (const kind of kinds) {
    const mine = runs.filter((r) => r.kind === kind);
    const med = (pick: (r: Run) => number): string => {
      const values = mine.map(pick);
      return `${spread(values).p50} (${Math.min(...values)}-${Math.max(...values)})`;
    };
    console.log(
      `${kind}: RssAnon ${med((r) => r.rssAnonMiB)} MiB, VmPTE ${med((r) => r.pteKiB)} KiB,` +
        ` fork p50 ${med((r) => r.forkP50)} ms, first push p50 ${med((r) => r.firstPushP50)}` +
        ` p90 ${med((r) => r.firstPushP90)} ms`,
    );
  }
}

main().catch((error: Error) => {
  console.error(`master-footprint failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
