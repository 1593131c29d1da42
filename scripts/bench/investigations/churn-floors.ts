/**
 * node dist/scripts/bench/investigations/churn-floors.js [--rounds 3] [--clients 100]
 *   [--kinds ours0,ours,floor,floor-pool,floor-2]
 *
 * Why two floors for churn (connect, first push, quit; 8 at a time) disagree: every
 * kind is up at once and they take turns, a round of `--clients` each, `--rounds`
 * times. Kinds: ours0 (--spare-workers 0), ours (default spares), floor (the bench's:
 * fork on connect, every waiting client at once, --v8-pool-size=1), floor-pool (the
 * same without --v8-pool-size=1: V8's default thread pool), floor-2 (at most 2 workers
 * starting at once, as our pool's one per core here). Prints clients/s per round, the
 * medians, and ours against each floor.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { freePort } from '../../lib/free-port';
import { ServerProcess } from '../../lib/server-process';
import { churnRun } from '../arrivals';
import { CHURN_CONCURRENCY } from '../plan';
import { floorServer, ours } from '../servers';
import { settle } from '../settle';
import { round, spread } from '../stats';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '100' },
    kinds: { type: 'string', default: 'ours0,ours,floor,floor-pool,floor-2' },
  },
});
const rounds = numberArg('rounds', args.rounds, { min: 1, max: 10 });
const clients = numberArg('clients', args.clients, { min: 8, max: 1000 });
const kinds = args.kinds.split(',');

function start(kind: string, port: number): ServerProcess {
  switch (kind) {
    case 'ours0':
      return ours(['--spare-workers', '0'])(port);
    case 'ours':
      return ours([])(port);
    case 'floor':
      return floorServer(port);
    case 'floor-pool':
      return floorServer(port, { nodeFlags: [] });
    case 'floor-2':
      return floorServer(port, { args: ['--max-starting', String(os.cpus().length)] });
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

async function main(): Promise<void> {
  const up = await Promise.all(
    kinds.map(async (kind) => {
      const port = await freePort();
      return { kind, port, server: await start(kind, port).ready(30_000), rates: [] as number[] };
    }),
  );
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? up : [...up].reverse();
      for (const s of order) {
        await settle(s.server.pid, s.kind === 'ours' ? 2 : 0, 500, undefined);
        const run = await churnRun(s.port, clients, CHURN_CONCURRENCY);
        s.rates.push(round(run.clients / run.seconds, 1));
        console.log(`round ${r + 1}: ${s.kind} ${s.rates.at(-1)} clients/s`);
      }
    }
  } finally {
    await Promise.all(up.map((s) => s.server.stop(15_000)));
  }
  const median = new Map(up.map((s) => [s.kind, spread(s.rates).p50]));
  console.log('\nmedians of rounds (range):');
  for (const s of up) {
    console.log(
      `${s.kind}: ${median.get(s.kind)} (${Math.min(...s.rates)}-${Math.max(...s.rates)})`,
    );
  }
  for (const mine of up.filter((s) => s.kind.startsWith('ours'))) {
    for (const floorKind of up.filter((s) => s.kind.startsWith('floor'))) {
      const ratios = mine.rates.map((rate, i) => round(rate / floorKind.rates[i], 2));
      console.log(
        `${mine.kind} / ${floorKind.kind}: ${round(median.get(mine.kind)! / median.get(floorKind.kind)!, 2)}` +
          ` (per round ${ratios.join(', ')})`,
      );
    }
  }
}

main().catch((error: Error) => {
  console.error(`churn-floors failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
