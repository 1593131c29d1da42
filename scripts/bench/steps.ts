import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { broadcastOnce } from './broadcast';
import { BenchClient } from './load-client';
import { MEMORY_FLOOR_MIB, OPEN_CONCURRENCY, type Plan } from './plan';
import { round, spread, type Spread } from './stats';
import { childPids, pssKiB, threads } from '../lib/proc';
import { sleep } from '../lib/sleep';

/**
 * Concurrency steps: clients added up to each step and held; at each step the share of
 * push gaps within 1.5 s over a window, the marginal PSS per client, threads, and (at
 * the plan's fan-out steps) broadcasts timed to every client.
 */
export interface Step {
  target: number;
  reached: number;
  secondsToReach: number;
  gapsWithin1500: number;
  marginalPssMiB: number;
  /** Processes whose PSS was read for this step (the rest estimated from their mean). */
  pssSampled: number;
  threadsPerWorker: number;
  fanout?: Fanout;
}

export interface Fanout {
  broadcasts: number;
  /** Per broadcast: the time from sending POST /publish to the last client's receipt. */
  lastDelivery: Spread;
  /**
   * The first broadcast's last delivery, apart: code never run before in the master
   * and in each worker (docs/performance.md), and the later broadcasts' last deliveries.
   */
  first: number;
  later: Spread;
  /** Every delivery. */
  delivery: Spread;
  /** Deliveries missing within 5 s, over all broadcasts. */
  missing: number;
}

export interface StepOptions {
  /** Headers of POST /publish (ours needs its token). */
  publishHeaders: Record<string, string>;
  log(line: string): void;
}

function memAvailableMiB(): number {
  const info = readFileSync('/proc/meminfo', 'utf8');
  return Number(/^MemAvailable:\s+(\d+)/m.exec(info)?.[1] ?? 0) / 1024;
}

/**
 * PSS of the server's processes, in KiB: the master's own, plus its children's
 * estimated from `sample` of them (every child read each step is kernel work that
 * grows with the number of processes: 2,500 smaps_rollup walks per step).
 */
export function serverPssKiB(pid: number, sample: number): { kib: number; sampled: number } {
  const children = childPids(pid);
  const picked =
    children.length <= sample
      ? children
      : Array.from(
          { length: sample },
          (_, i) => children[Math.floor((i * children.length) / sample)],
        );
  const readings = picked.map(pssKiB).filter((kib) => kib > 0);
  const mean = readings.reduce((a, b) => a + b, 0) / Math.max(1, readings.length);
  return { kib: pssKiB(pid) + mean * children.length, sampled: readings.length + 1 };
}

async function fanout(
  port: number,
  clients: BenchClient[],
  broadcasts: number,
  headers: Record<string, string>,
): Promise<Fanout> {
  const last: number[] = [];
  const all: number[] = [];
  let missing = 0;
  for (let b = 0; b < broadcasts; b++) {
    const { lastMs, delays } = await broadcastOnce(port, clients, `fanout ${b}`, headers, true);
    all.push(...delays);
    missing += Math.max(0, clients.length - delays.length);
    last.push(lastMs);
    await sleep(200);
  }
  for (const client of clients) client.onText = undefined;
  return {
    broadcasts,
    lastDelivery: spread(last),
    first: round(last[0] ?? NaN),
    later: spread(last.slice(1)),
    delivery: spread(all),
    missing,
  };
}

export async function steps(
  port: number,
  serverPid: number,
  plan: Plan,
  options: StepOptions,
): Promise<Step[]> {
  const baseline = serverPssKiB(serverPid, plan.pssSample).kib;
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
              options.log(
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
              options.log(`open failed at ${slot}: ${(error as Error).message}`);
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
      const pss = serverPssKiB(serverPid, plan.pssSample);
      const children = childPids(serverPid).slice(0, 20);
      const threadCounts = children.length > 0 ? children.map(threads) : [threads(serverPid)];
      const step: Step = {
        target,
        reached: live.length,
        secondsToReach: round(secondsToReach, 1),
        gapsWithin1500: round(total === 0 ? 0 : within / total, 4),
        marginalPssMiB: round((pss.kib - baseline) / 1024 / Math.max(1, live.length)),
        pssSampled: pss.sampled,
        threadsPerWorker: round(threadCounts.reduce((a, b) => a + b, 0) / threadCounts.length, 1),
      };
      if (plan.fanoutAt.includes(target) && live.length === target) {
        step.fanout = await fanout(port, live, plan.broadcasts, options.publishHeaders);
      }
      options.log(`step ${JSON.stringify(step)}`);
      results.push(step);
      if (live.length < target) break;
    }
  } finally {
    for (const client of clients) client?.destroy();
  }
  return results;
}
