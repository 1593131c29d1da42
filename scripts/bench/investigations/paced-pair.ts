/**
 * The paced tails (issue 26), ours beside the floor in turns: `count` clients, one
 * every `period` ms, each waiting for its first push and quitting (as the full bench's
 * (a)), on ours with default spares, on another build of ours (`--base DIR`, before /
 * after pairs), and on the floor. For ours, what the master's probe saw meanwhile:
 * forks and how long each blocked the master, the handshakes and the quits (quit →
 * TCP close) whose span overlapped a fork, and the event-loop delay.
 *
 *   node dist/scripts/bench/investigations/paced-pair.js [--count 200] [--period 200]
 *     [--rounds 2] [--kinds ours,floor] [--base DIR] [--flags FLAG+FLAG]
 */
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { freePort } from '../../lib/free-port';
import type { ServerProcess } from '../../lib/server-process';
import { sleep } from '../../lib/sleep';
import { epoch, paced, type Paced } from '../arrivals';
import { forkWaits } from '../probe-analysis';
import { floorServer, ours, probeOf } from '../servers';
import { settle } from '../settle';
import { round, spread } from '../stats';
import { stopStartedOnSignal } from '../../lib/server-process';

stopStartedOnSignal();

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    period: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '2' },
    kinds: { type: 'string', default: 'ours,floor' },
    base: { type: 'string' },
    flags: { type: 'string', default: '' },
  },
});
const count = numberArg('count', values.count, { min: 1, max: 1000 });
const period = numberArg('period', values.period, { min: 0 });
const rounds = numberArg('rounds', values.rounds, { min: 1, max: 6 });
const kinds = values.kinds.split(',');
const base = values.base === undefined ? undefined : path.resolve(values.base);
const flags = values.flags === '' ? [] : values.flags.split('+');

/** Default spares (2): what `maxIdle` settle waits for; the floor keeps none. */
const SPARES = 2;

function start(kind: string, port: number): ServerProcess {
  switch (kind) {
    case 'ours':
      return ours(flags)(port);
    case 'base':
      if (base === undefined) throw new Error('kind base needs --base DIR');
      return ours(flags, base)(port);
    case 'floor':
      return floorServer(port);
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

const fmt = (s: { p50: number; p90: number; p99: number; max: number }): string =>
  `${s.p50} / ${s.p90} / ${s.p99} / ${s.max}`;

async function run(kind: string): Promise<string> {
  const port = await freePort();
  const server = await start(kind, port).ready(30_000);
  let result: Paced;
  let phase: [number, number];
  try {
    await settle(
      server.pid,
      kind === 'floor' ? 0 : SPARES,
      1000,
      kind === 'floor' ? undefined : port,
    );
    const from = epoch(performance.now());
    result = await paced(port, count, period);
    phase = [from, epoch(performance.now())];
  } finally {
    await server.stop(15000);
  }
  const load = os
    .loadavg()
    .map((l) => round(l))
    .join(' ');
  let line =
    `${kind.padEnd(5)} connect→101 ${fmt(result.upgrade)}; first push ${fmt(result.firstPush)}` +
    ` (p99/p50 ${round(result.firstPush.p99 / result.firstPush.p50)}); quit→close ${fmt(result.quit)}; load ${load}`;
  const probe = probeOf(server.pid);
  if (probe !== undefined) {
    const waits = forkWaits(probe, result.handshakes, phase);
    const quitsBehind = result.quits.filter((q) =>
      probe.forks.some((f) => f[0] < q[1] && q[0] < f[1]),
    );
    line +=
      `\n      forks ${waits.forks}, blocking ${fmt(waits.forkBlockMs)} ms; handshakes behind a fork ` +
      `${waits.behindFork} (101 ${fmt(waits.upgradeBehindFork)}), clear ${fmt(waits.upgradeClear)};` +
      ` quits behind a fork ${quitsBehind.length} (${fmt(spread(quitsBehind.map(([a, b]) => b - a)))});` +
      ` loop delay p99 ${waits.loopDelayP99Ms} max ${waits.loopDelayMaxMs} ms`;
  }
  return line;
}

async function main(): Promise<void> {
  console.log(
    `paced: ${count} clients, one per ${period} ms, ${rounds} rounds; kinds ${kinds.join(', ')}`,
  );
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      console.log(`round ${r + 1} ${await run(kind)}`);
      await sleep(500);
    }
  }
}

main().catch((error: Error) => {
  console.error(`paced-pair failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
