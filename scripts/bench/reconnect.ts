import { performance } from 'node:perf_hooks';
import type { ServerProcess } from '../lib/server-process';
import { sleep } from '../lib/sleep';
import { OPEN_CONCURRENCY } from './plan';
import { seededRandom } from '../lib/seeded-random';
import { ReconnectingClient } from './reconnecting-client';
import { round } from './stats';
import { peakRssMiB } from '../lib/proc';

/**
 * Mass reconnect after a restart, as `systemctl restart` does it: `count` clients that
 * reconnect by reconnect-policy.ts are connected; the server gets SIGTERM (every client
 * is closed with 1001), and once it has exited the same command starts it again on the
 * same port. Measured: the time from the SIGTERM until every client has a push again,
 * the curve of clients back over time, attempts, refusals, and the master's RSS peaks.
 */
export interface Reconnect {
  clients: number;
  seed: number;
  /** SIGTERM → old master gone, and → new master's ready line (ms). */
  stopMs: number;
  startMs: number;
  /** Workers the old master had to SIGKILL after its shutdown grace (from its log). */
  killedAtStop: number;
  /** SIGTERM → the last client's first push again (ms); undefined if some never came back. */
  allBackMs: number | undefined;
  /** Clients not back when the cap ran out (given up by the bench, not by themselves). */
  notBack: number;
  attempts: number;
  refusals: number;
  /** Clients back against seconds since the SIGTERM (for the plot). */
  curve: { seconds: number; back: number }[];
  masterPeakRssMiB: { before: number; after: number };
}

export async function massReconnect(
  count: number,
  capMs: number,
  start: (port: number) => ServerProcess,
  port: number,
  seed: number,
  log: (line: string) => void,
): Promise<{ result: Reconnect; server: ServerProcess }> {
  let server = await start(port).ready();
  const random = seededRandom(seed);
  const clients: ReconnectingClient[] = [];
  let connected = 0;
  const onPush = (): void => {
    connected++;
  };
  const runs: Promise<void>[] = [];
  try {
    // Open them OPEN_CONCURRENCY at a time, as the steps do, then let them run.
    for (let i = 0; i < count; i++) {
      clients.push(new ReconnectingClient(port, random, onPush));
    }
    for (let i = 0; i < count; i += OPEN_CONCURRENCY) {
      const batch = clients.slice(i, i + OPEN_CONCURRENCY);
      const target = connected + batch.length;
      for (const client of batch) runs.push(client.run());
      const deadline = performance.now() + 60000;
      while (connected < target && performance.now() < deadline) await sleep(5);
    }
    log(`reconnect: ${connected} of ${count} connected; restarting the server`);
    await sleep(Math.min(1000, count * 10));
    const before = peakRssMiB(server.pid);
    const restartAt = performance.now();
    await server.stop(15000);
    const stopMs = performance.now() - restartAt;
    const killedAtStop = (server.output.match(/did not exit in time/g) ?? []).length;
    server = await start(port).ready();
    const startMs = performance.now() - restartAt;
    const isBack = (client: ReconnectingClient): boolean => client.backAt(restartAt) !== undefined;
    while (performance.now() - restartAt < capMs && !clients.every(isBack)) await sleep(250);
    const times = clients.map((client) => client.backAt(restartAt));
    const allBack = times.every((t) => t !== undefined);
    const sorted = times.filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    const curve = [{ seconds: 0, back: 0 }];
    for (const [i, t] of sorted.entries()) {
      curve.push({ seconds: round((t - restartAt) / 1000, 3), back: i + 1 });
    }
    const result: Reconnect = {
      clients: count,
      seed,
      stopMs: round(stopMs),
      startMs: round(startMs),
      killedAtStop,
      allBackMs: allBack ? round(Math.max(...times) - restartAt) : undefined,
      notBack: times.filter((t) => t === undefined).length,
      attempts: clients.reduce((sum, client) => sum + client.attempts, 0),
      refusals: clients.reduce((sum, client) => sum + client.refusals, 0),
      curve,
      masterPeakRssMiB: { before, after: peakRssMiB(server.pid) },
    };
    return { result, server };
  } catch (error) {
    await server.stop(15000);
    throw error;
  } finally {
    for (const client of clients) client.stop();
    await Promise.all(runs);
  }
}
