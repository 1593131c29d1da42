/**
 * The first broadcast to fresh clients (issue 26): `clients` clients whose workers have
 * written nothing to them yet (ours with `--no-demo`), then `broadcasts` publications
 * `gapMs` apart; beside the naive relay (the floor's POST /publish, whose workers have
 * sent their hello), in turns, `rounds` times. The first broadcast's last delivery is
 * set against the relay's worst of the same round (docs/performance.md, round four).
 *
 *   npm run build && node dist/scripts/bench/fresh-broadcast.js [--quick]
 */
import { parseArgs } from 'node:util';
import type { Check } from './checks';
import { broadcastOnce } from './broadcast';
import { freePort } from '../lib/free-port';
import { ServerProcess } from '../lib/server-process';
import { sleep } from '../lib/sleep';
import { openClients } from './load-client';
import { PUBLISH_TOKEN, floorServer } from './servers';
import { round, spread } from './stats';

/** One server's turn: its broadcasts' last deliveries (ms), the first apart. */
export interface FreshTurn {
  kind: 'ours' | 'relay';
  /** The first broadcast's last delivery. */
  first: number;
  /** The later ones' last delivery, p50. */
  laterP50: number;
  /** The worst last delivery of all its broadcasts. */
  worst: number;
  /** Receipts that never came (5 s bound per broadcast). */
  missing: number;
}

export interface FreshBroadcast {
  clients: number;
  broadcasts: number;
  gapMs: number;
  /** Ours then the relay, per round. */
  rounds: { ours: FreshTurn; relay: FreshTurn }[];
}

async function turn(
  kind: FreshTurn['kind'],
  clients: number,
  broadcasts: number,
  gapMs: number,
): Promise<FreshTurn> {
  const port = await freePort();
  const server =
    kind === 'ours'
      ? ServerProcess.ours(
          [
            '--port',
            String(port),
            '--max-clients',
            '3000',
            '--no-demo',
            '--handshake-timeout',
            '60',
          ],
          { env: { ...process.env, PUSH_WS_PUBLISH_TOKEN: PUBLISH_TOKEN } },
        )
      : floorServer(port, { interval: '30' });
  await server.ready(30_000);
  try {
    const open = await openClients(port, clients, { timeoutMs: 60_000, deadlineMs: 240_000 });
    // This process's first fetch() loads undici: not a broadcast's time.
    await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
    await sleep(1500);
    const last: number[] = [];
    let missing = 0;
    for (let b = 0; b < broadcasts; b++) {
      const { lastMs, delays } = await broadcastOnce(port, open, `fresh ${b}`, {
        Authorization: `Bearer ${PUBLISH_TOKEN}`,
      });
      last.push(lastMs);
      missing += open.length - delays.length;
      await sleep(gapMs);
    }
    for (const client of open) client.destroy();
    return {
      kind,
      first: round(last[0] ?? NaN),
      laterP50: spread(last.slice(1)).p50,
      worst: round(Math.max(...last)),
      missing,
    };
  } finally {
    await server.stop(20_000);
  }
}

export async function freshBroadcast(
  clients: number,
  broadcasts: number,
  gapMs: number,
  rounds: number,
  log: (line: string) => void,
): Promise<FreshBroadcast> {
  const result: FreshBroadcast = { clients, broadcasts, gapMs, rounds: [] };
  for (let r = 0; r < rounds; r++) {
    const ours = await turn('ours', clients, broadcasts, gapMs);
    log(`fresh broadcast, round ${r + 1}: ours ${JSON.stringify(ours)}`);
    const relay = await turn('relay', clients, broadcasts, gapMs);
    log(`fresh broadcast, round ${r + 1}: relay ${JSON.stringify(relay)}`);
    result.rounds.push({ ours, relay });
  }
  return result;
}

/** Ours' first broadcast against the relay's worst of the same round, every round. */
export function freshBroadcastChecks(fresh: FreshBroadcast): Check[] {
  const ratios = fresh.rounds.map(({ ours, relay }) => round(ours.first / relay.worst));
  const missing = fresh.rounds.reduce((sum, r) => sum + r.ours.missing + r.relay.missing, 0);
  return [
    {
      target: `${fresh.clients} fresh clients (--no-demo): the first broadcast's last delivery ≤ 1.5 × the relay's worst, every round`,
      value:
        fresh.rounds.map(({ ours, relay }) => `${ours.first} vs ${relay.worst} ms`).join(', ') +
        ` (${ratios.map((r) => `${r}×`).join(', ')}); ${missing} receipts missing`,
      met: ratios.every((r) => r <= 1.5) && missing === 0,
    },
    {
      // (g)'s p50 target, read here side by side: (g) takes each server's broadcasts in
      // its own concurrency steps, one server after the other, minutes apart.
      target: `fan-out to ${fresh.clients}, in turns with the relay: the later broadcasts' last delivery p50 ≤ 0.8 × the relay's, every round`,
      value: fresh.rounds
        .map(
          ({ ours, relay }) =>
            `${ours.laterP50} vs ${relay.laterP50} ms (${round(ours.laterP50 / relay.laterP50)}×)`,
        )
        .join(', '),
      met: fresh.rounds.every(({ ours, relay }) => ours.laterP50 <= 0.8 * relay.laterP50),
    },
  ];
}

export function freshBroadcastTable(fresh: FreshBroadcast): string {
  const cell = (t: FreshTurn): string => `${t.first} / ${t.laterP50} / ${t.worst}`;
  return [
    `| round | ours --no-demo: first / later p50 / worst (ms) | relay (floor): first / later p50 / worst |`,
    `| ----- | ---------------------------------------------- | ---------------------------------------- |`,
    ...fresh.rounds.map((r, i) => `| ${i + 1} | ${cell(r.ours)} | ${cell(r.relay)} |`),
  ].join('\n');
}

if (require.main === module) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const log = (line: string): void => void process.stderr.write(`[fresh] ${line}\n`);
  const [clients, broadcasts, rounds] = values.quick ? [10, 3, 1] : [500, 20, 2];
  void freshBroadcast(clients, broadcasts, 100, rounds, log).then((fresh) => {
    console.log(freshBroadcastTable(fresh));
    for (const check of freshBroadcastChecks(fresh)) {
      console.log(`[${check.met ? 'met' : 'MISSED'}] ${check.target}: ${check.value}`);
    }
  });
}
