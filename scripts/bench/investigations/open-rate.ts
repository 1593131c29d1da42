/**
 * node dist/scripts/bench/investigations/open-rate.js [--clients 2000] [--every 100]
 *
 * Why opening slows down as workers accumulate: opens --clients clients to our server, 8
 * at a time (as the steps do), and for every --every clients prints the opening rate, the
 * machine's CPU split (user / system / idle, from /proc/stat), context switches, the
 * master's RSS, its CPU and run-queue wait (/proc/PID/schedstat), and, once the master has
 * exited, how long its fork() calls blocked, per --every forks (the master probe). Reads
 * no /proc file per worker: the bench itself adds nothing that grows with them.
 * BENCH_MASTER_NICE=N sets the master's niceness first (a negative N needs root, as a
 * systemd unit's Nice= would give it): its forks' children run at it until they exec.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { schedstat } from '../../lib/proc';
import { BenchClient } from '../load-client';
import { OPEN_CONCURRENCY } from '../plan';
import { ours, probeOf } from '../servers';
import { round, spread } from '../stats';
import { stopStartedOnSignal } from '../../lib/server-process';

stopStartedOnSignal();

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '2000' },
    every: { type: 'string', default: '100' },
  },
});
const total = numberArg('clients', args.clients, { min: 1 });
const every = numberArg('every', args.every, { min: 1 });

function cpu(): { busy: number; system: number; idle: number; switches: number } {
  const stat = readFileSync('/proc/stat', 'utf8');
  const f = (/^cpu\s+(.*)$/m.exec(stat)?.[1] ?? '').split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal
  return {
    busy: f[0] + f[1],
    system: f[2] + f[5] + f[6],
    idle: f[3] + f[4],
    switches: Number(/^ctxt\s+(\d+)/m.exec(stat)?.[1] ?? 0),
  };
}

/** A process's main thread: ms run on a CPU, and ms waited in a run queue (schedstat). */
function sched(pid: number): { runMs: number; waitMs: number } {
  const { runNs, waitNs } = schedstat(pid);
  return { runMs: runNs / 1e6, waitMs: waitNs / 1e6 };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return round(Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024, 1);
}

async function main(): Promise<void> {
  const server = await ours([])(0).ready();
  if (process.env.BENCH_MASTER_NICE !== undefined) {
    os.setPriority(server.pid, Number(process.env.BENCH_MASTER_NICE));
  }
  const clients: BenchClient[] = [];
  try {
    let mark = { at: performance.now(), cpu: cpu(), sched: sched(server.pid) };
    while (clients.length < total) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(OPEN_CONCURRENCY, total - clients.length) }, () =>
          BenchClient.open(server.port, 60000),
        ),
      );
      clients.push(...batch);
      if (clients.length % every < OPEN_CONCURRENCY || clients.length === total) {
        const now = { at: performance.now(), cpu: cpu(), sched: sched(server.pid) };
        const ticks =
          now.cpu.busy +
          now.cpu.system +
          now.cpu.idle -
          (mark.cpu.busy + mark.cpu.system + mark.cpu.idle);
        const share = (key: 'busy' | 'system' | 'idle'): number =>
          round(((now.cpu[key] - mark.cpu[key]) / Math.max(1, ticks)) * 100, 0);
        const seconds = (now.at - mark.at) / 1000;
        console.log(
          `${clients.length} clients: ${round(every / seconds, 1)}/s; CPU user ${share('busy')} % sys ${share('system')} % idle ${share('idle')} %; ` +
            `${round((now.cpu.switches - mark.cpu.switches) / seconds, 0)} switches/s; master RSS ${rssMiB(server.pid)} MiB, ` +
            `ran ${round(now.sched.runMs - mark.sched.runMs, 0)} ms, waited ${round(now.sched.waitMs - mark.sched.waitMs, 0)} ms for a CPU`,
        );
        mark = now;
      }
    }
  } finally {
    for (const client of clients) client.destroy();
    await server.stop(30000);
  }
  const probe = probeOf(server.pid);
  if (probe === undefined) return;
  for (let i = 0; i < probe.forks.length; i += every) {
    const s = spread(probe.forks.slice(i, i + every).map(([a, b]) => b - a));
    console.log(
      `forks ${i}-${i + every}: blocked the master p50 ${s.p50} p90 ${s.p90} max ${s.max} ms`,
    );
  }
}

main().catch((error: Error) => {
  console.error(error.stack);
  process.exit(1);
});
