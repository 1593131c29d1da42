import { performance } from 'node:perf_hooks';
import { cpuSeconds, reapedChildrenCpuSeconds } from '../lib/proc';
import { sleep } from '../lib/sleep';
import { BenchClient } from './load-client';
import { round, spread, type Spread } from './stats';

/** Clients arriving: paced one after another, in churn, and in bursts after idle. */

/** performance.now() of this process as epoch milliseconds (to line up with the master's probe). */
export const epoch = (t: number): number => performance.timeOrigin + t;

export interface Paced {
  upgrade: Spread;
  firstPush: Spread;
  quit: Spread;
  /** Each client's [connect, 101] in epoch ms. */
  handshakes: [number, number][];
  /** Each client's [quit sent, TCP close] in epoch ms. */
  quits: [number, number][];
  /** Each client's connect → first push in ms (for the latency plot). */
  firstPushes: number[];
}

/** One server's paced clients as they are measured, before they are summed up. */
class PacedRecord {
  readonly upgrade: number[] = [];
  readonly firstPush: number[] = [];
  readonly quit: number[] = [];
  readonly handshakes: [number, number][] = [];
  readonly quits: [number, number][] = [];

  /** One client: connect, its first push, quit, TCP close. */
  async client(port: number): Promise<void> {
    const client = await BenchClient.open(port);
    await client.firstPush();
    this.upgrade.push(client.upgradedAt - client.started);
    this.firstPush.push(client.firstPushAt - client.started);
    this.handshakes.push([epoch(client.started), epoch(client.upgradedAt)]);
    const quitAt = epoch(performance.now());
    const quitMs = await client.quit();
    this.quit.push(quitMs);
    this.quits.push([quitAt, quitAt + quitMs]);
  }

  summary(): Paced {
    return {
      upgrade: spread(this.upgrade),
      firstPush: spread(this.firstPush),
      quit: spread(this.quit),
      handshakes: this.handshakes,
      quits: this.quits,
      firstPushes: this.firstPush.map((ms) => round(ms)),
    };
  }
}

/**
 * Paced arrivals: `count` clients, one started every `periodMs` (each waits for its
 * first push and quits before the next starts, if it can).
 */
export async function paced(port: number, count: number, periodMs: number): Promise<Paced> {
  return (await pacedInTurns([{ port, spares: false }], count, periodMs))[0];
}

/** A server of a paced block: its port, and whether it keeps spares. */
export interface PacedServer {
  port: number;
  /** It forks a spare's replacement after each client (50 ms later, for about 20 ms). */
  spares: boolean;
}

/**
 * Paced arrivals at several servers, in turns: a turn every `periodMs` gives each server
 * one client, one server after the other (each client quits before the next server's
 * starts), `count` turns. Every server still gets one client per period, and load from
 * other work on the machine falls on all of them alike: their ratios hold where runs
 * of one server after another, minutes apart, did not (first push with no spares
 * against the floor's: 1.02 × in one full run, 1.33 × in the next).
 *
 * The servers without spares go first in a turn and the ones with spares last, each
 * group rotating (a different one first each turn): a replacement's start, 50 ms after
 * its server's client, then falls in the rest of the period, not on another server's
 * client, and each server follows each of the others as often.
 */
export async function pacedInTurns(
  servers: PacedServer[],
  count: number,
  periodMs: number,
): Promise<Paced[]> {
  const records = servers.map(() => new PacedRecord());
  const groups = [false, true].map((spares) =>
    servers.flatMap((server, index) => (server.spares === spares ? [index] : [])),
  );
  for (let turn = 0; turn < count; turn++) {
    const started = performance.now();
    for (const group of groups) {
      for (let k = 0; k < group.length; k++) {
        const index = group[(turn + k) % group.length];
        await records[index].client(servers[index].port);
      }
    }
    await sleep(Math.max(0, periodMs - (performance.now() - started)));
  }
  return records.map((record) => record.summary());
}

export interface Churn {
  clientsPerSecond: number;
  quit: Spread;
  /**
   * CPU per client (ms, user + system, from /proc): the server process's own, and its
   * reaped children's (the workers; a worker counts once it has exited and been
   * reaped). Machine load moves it far less than clients/s: it says where a ratio of
   * clients/s comes from.
   */
  cpuMs: { server: number; workers: number };
}

/** One churn run's raw figures, to merge runs taken in turns with other servers. */
export interface ChurnRun {
  clients: number;
  seconds: number;
  quits: number[];
  /** CPU seconds the server and its reaped children took meanwhile (NaN: not read). */
  serverCpuS: number;
  workersCpuS: number;
}

/**
 * Churn: connect + first push + quit, `concurrency` at a time, `count` clients; with
 * `pid`, the server's CPU and its reaped children's over the run, read once `drained`
 * (if given) has resolved: a wait for the last workers to be reaped.
 */
export async function churnRun(
  port: number,
  count: number,
  concurrency: number,
  pid?: number,
  drained?: () => Promise<unknown>,
): Promise<ChurnRun> {
  const cpuAt = (): [number, number] =>
    pid === undefined ? [NaN, NaN] : [cpuSeconds(pid), reapedChildrenCpuSeconds(pid)];
  const [serverBefore, workersBefore] = cpuAt();
  let remaining = count;
  const quits: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (remaining > 0) {
        remaining--;
        const client = await BenchClient.open(port);
        await client.firstPush();
        quits.push(await client.quit());
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await drained?.();
  const [serverAfter, workersAfter] = cpuAt();
  return {
    clients: count,
    seconds,
    quits,
    serverCpuS: serverAfter - serverBefore,
    workersCpuS: workersAfter - workersBefore,
  };
}

/** Runs merged: clients over the seconds they took together, quits together. */
export function mergeChurn(runs: ChurnRun[]): Churn {
  const clients = runs.reduce((sum, run) => sum + run.clients, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  return {
    clientsPerSecond: round(clients / Math.max(seconds, 1e-9), 1),
    quit: spread(runs.flatMap((run) => run.quits)),
    cpuMs: {
      server: round((runs.reduce((sum, run) => sum + run.serverCpuS, 0) * 1000) / clients, 1),
      workers: round((runs.reduce((sum, run) => sum + run.workersCpuS, 0) * 1000) / clients, 1),
    },
  };
}

export interface Bursts {
  /** Every burst's clients together. */
  firstPush: Spread;
  /** Each client's connect → first push in ms, burst after burst. */
  firstPushes: number[];
  /** Clients per burst. */
  perBurst: number;
  /** The first burst alone: the server as it starts (an adaptive one at its minimum). */
  first: Spread;
  /** The bursts after it (an adaptive server may still hold what the earlier ones raised). */
  later: Spread | undefined;
}

/** Bursts' figures from each burst's first-push times (ms), in the order they ran. */
export function burstsOf(perBurst: number[][]): Bursts {
  const all = perBurst.flat();
  return {
    firstPush: spread(all),
    firstPushes: all.map((ms) => round(ms)),
    perBurst: perBurst[0]?.length ?? 0,
    first: spread(perBurst[0] ?? []),
    later: perBurst.length > 1 ? spread(perBurst.slice(1).flat()) : undefined,
  };
}

/**
 * Bursts after idle: `clients` arriving evenly within `spreadMs` on a server that has
 * been idle (`settle` waits for that before each burst); every client waits for its
 * first push, then all quit.
 */
export async function bursts(
  port: number,
  count: number,
  clients: number,
  spreadMs: number,
  settle: () => Promise<void>,
): Promise<Bursts> {
  const perBurst: number[][] = [];
  for (let b = 0; b < count; b++) {
    await settle();
    const firstPush: number[] = [];
    perBurst.push(firstPush);
    const opened = await Promise.all(
      Array.from({ length: clients }, async (_, i) => {
        await sleep((i * spreadMs) / clients);
        const client = await BenchClient.open(port);
        await client.firstPush();
        firstPush.push(client.firstPushAt - client.started);
        return client;
      }),
    );
    await Promise.all(opened.map((client) => client.quit()));
  }
  return burstsOf(perBurst);
}
