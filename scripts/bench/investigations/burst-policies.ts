/**
 * node dist/scripts/bench/investigations/burst-policies.js [--bursts 6] [--spares 2,5,2:8,2:12]
 *   (build first)
 *
 * Bursts after idle on our server with several --spare-workers values side by side
 * (default: 2, 5, 2:8, 2:12), taking turns: each server gets a burst of 20 clients in
 * 100 ms after it has settled and been quiet for 2 s, then the next server, --bursts
 * times (default 6). Prints, per server, the first burst (as it starts) and the later
 * ones (each following its previous burst by one turn of all servers), and the idle
 * workers it kept meanwhile (sampled every 0.5 s from /proc).
 */
import { parseArgs } from 'node:util';
import { bursts, burstsOf } from '../arrivals';
import { IdleSampler } from '../idle-sampler';
import { ours } from '../servers';
import { settle } from '../settle';
import type { Spread } from '../stats';
import { numberArg } from '../../lib/args';
import { freePort } from '../../lib/free-port';
import { stopStartedOnSignal } from '../../lib/server-process';

stopStartedOnSignal();

const CLIENTS = 20;
const SPREAD_MS = 100;
const QUIET_MS = 2000;

const { values: args } = parseArgs({
  options: {
    bursts: { type: 'string', default: '6' },
    spares: { type: 'string', default: '2,5,2:8,2:12' },
  },
});
const count = numberArg('bursts', args.bursts, { min: 1, max: 50 });
const policies = args.spares.split(',');

const maxOf = (spec: string): number => Number(spec.split(':').at(-1));
const fmt = (s: Spread | undefined): string =>
  s === undefined ? '-' : `${s.p50} / ${s.p99} / ${s.max}`;

async function main(): Promise<void> {
  const up = await Promise.all(
    policies.map(async (spec) => {
      const port = await freePort();
      const server = await ours(['--spare-workers', spec])(port).ready();
      const sampler = new IdleSampler(() => server.pid).start();
      return { spec, port, server, sampler, bursts: [] as number[][] };
    }),
  );
  try {
    for (let b = 0; b < count; b++) {
      // Each round in another order: no server always follows the same one.
      const order = up.map((_, i) => up[(i + b) % up.length]);
      for (const s of order) {
        const one = await bursts(s.port, 1, CLIENTS, SPREAD_MS, () =>
          settle(s.server.pid, maxOf(s.spec), QUIET_MS, s.port),
        );
        s.bursts.push(one.firstPushes);
        process.stderr.write(
          `burst ${b + 1}, --spare-workers ${s.spec}: max ${one.first.max} ms\n`,
        );
      }
    }
    console.log(
      `| --spare-workers | first burst p50 / p99 / max | ${count - 1} later bursts p50 / p99 / max | idle workers mean / max |`,
    );
    console.log('|---|---|---|---|');
    for (const s of up) {
      const result = burstsOf(s.bursts);
      const idle = s.sampler.stop();
      console.log(
        `| ${s.spec} | ${fmt(result.first)} | ${fmt(result.later)} | ${idle.mean} / ${idle.max} |`,
      );
    }
  } finally {
    for (const s of up) {
      s.sampler.stop();
      await s.server.stop(15000);
    }
  }
}

main().catch((error: Error) => {
  console.error(`burst-policies failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
