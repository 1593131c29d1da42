/**
 * Fan-out across instances: a broadcast's time from POST /publish to its last delivery,
 * with N clients on one instance, on two instances joined by Redis (the clients split
 * between them, every publish sent to the first), and on the `ws` reference (one
 * process), side by side at each N. Also runs alone:
 * node dist/scripts/bench/instances.js [--quick]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../lib/free-port';
import { ServerProcess } from '../lib/server-process';
import { sleep } from '../lib/sleep';
import { broadcastOnce } from './broadcast';
import type { Check } from './checks';
import { type BenchClient, openClients } from './load-client';
import { round, spread, type Spread } from './stats';
import { benchRedis } from './redis-server';
import { PUBLISH_TOKEN } from './servers';

/** Slow demo pushes: the broadcasts are what is timed. */
const SLOW = ['--interval-min', '30', '--interval-max', '30'];

export interface InstancesRow {
  clients: number;
  one: Spread;
  redis: Spread;
  ws: Spread;
  /** Deliveries missing within 5 s, over all broadcasts, per setup. */
  missing: { one: number; redis: number; ws: number };
}

interface Setup {
  /** Ports clients are spread over, in turn. */
  ports: number[];
  /** Where broadcasts are published. */
  publishPort: number;
  stop(): Promise<void>;
}

/** Times `broadcasts` publishes: sending POST /publish → the last client's receipt. */
async function fanout(
  publishPort: number,
  clients: BenchClient[],
  broadcasts: number,
): Promise<{ last: Spread; missing: number }> {
  const last: number[] = [];
  let missing = 0;
  for (let b = 0; b < broadcasts; b++) {
    const { lastMs, delays } = await broadcastOnce(publishPort, clients, `instances ${b}`, {
      Authorization: `Bearer ${PUBLISH_TOKEN}`,
    });
    missing += clients.length - delays.length;
    last.push(lastMs);
    await sleep(200);
  }
  for (const client of clients) client.onText = undefined;
  return { last: spread(last), missing };
}

async function ours(extra: string[]): Promise<ServerProcess> {
  return ServerProcess.ours(['--port', '0', '--max-clients', '3000', ...SLOW, ...extra], {
    env: { ...process.env, PUSH_WS_PUBLISH_TOKEN: PUBLISH_TOKEN },
  }).ready(30_000);
}

async function oneInstance(): Promise<Setup> {
  const server = await ours([]);
  return {
    ports: [server.port],
    publishPort: server.port,
    stop: async () => void (await server.stop(15_000)),
  };
}

async function twoInstances(): Promise<Setup> {
  const { redis, url } = await benchRedis();
  const servers = [await ours(['--redis', url]), await ours(['--redis', url])];
  for (const server of servers) await server.waitForLog(/Redis backplane up/, 15_000);
  return {
    ports: servers.map((server) => server.port),
    publishPort: servers[0].port,
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop(15_000)));
      await redis.terminate(5000);
    },
  };
}

async function wsReference(): Promise<Setup> {
  const port = await freePort();
  const server = await ServerProcess.spawn(process.execPath, [
    path.join(__dirname, 'ws-reference.js'),
    '--port',
    String(port),
    '--interval-min',
    '30',
    '--interval-max',
    '30',
  ]).ready(15_000);
  return { ports: [port], publishPort: port, stop: async () => void (await server.stop(15_000)) };
}

async function measure(
  setup: () => Promise<Setup>,
  clients: number,
  broadcasts: number,
): Promise<{ last: Spread; missing: number }> {
  const running = await setup();
  try {
    const open = await openClients(running.ports, clients, { timeoutMs: 60_000 });
    await sleep(1000);
    const result = await fanout(running.publishPort, open, broadcasts);
    for (const client of open) client.destroy();
    return result;
  } finally {
    await running.stop();
    await sleep(500);
  }
}

export async function instancesFanout(
  sizes: number[],
  broadcasts: number,
  log: (line: string) => void,
): Promise<InstancesRow[]> {
  const rows: InstancesRow[] = [];
  for (const clients of sizes) {
    log(`fan-out across instances: ${clients} clients, one instance`);
    const one = await measure(oneInstance, clients, broadcasts);
    log(`fan-out across instances: ${clients} clients, two instances through Redis`);
    const redis = await measure(twoInstances, clients, broadcasts);
    log(`fan-out across instances: ${clients} clients, ws reference`);
    const ws = await measure(wsReference, clients, broadcasts);
    rows.push({
      clients,
      one: one.last,
      redis: redis.last,
      ws: ws.last,
      missing: { one: one.missing, redis: redis.missing, ws: ws.missing },
    });
  }
  return rows;
}

/** The target of the channels issue: through Redis at most 1.5 × one instance. */
export function instancesChecks(rows: InstancesRow[]): Check[] {
  return rows.map((row) => ({
    target: `${row.clients} clients: publish → last delivery through Redis ≤ 1.5 × one instance (p50 and p99)`,
    value:
      `p50 ${round(row.redis.p50)} vs ${round(row.one.p50)} ms ` +
      `(${round(row.redis.p50 / row.one.p50)}×), p99 ${round(row.redis.p99)} vs ${round(row.one.p99)} ms`,
    met: row.redis.p50 <= 1.5 * row.one.p50 && row.redis.p99 <= 1.5 * row.one.p99,
  }));
}

export function instancesTable(rows: InstancesRow[]): string {
  const cell = (s: Spread): string => `${round(s.p50)} / ${round(s.p99)} / ${round(s.max)}`;
  const lines = [
    '| clients | one instance (p50 / p99 / max ms) | two instances through Redis | ws reference (one process) |',
    '| ------- | --------------------------------- | --------------------------- | -------------------------- |',
    ...rows.map((r) => `| ${r.clients} | ${cell(r.one)} | ${cell(r.redis)} | ${cell(r.ws)} |`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const quick = args.quick;
  const log = (line: string): void => void process.stderr.write(`[instances] ${line}\n`);
  void instancesFanout(quick ? [20] : [100, 500, 1000], quick ? 3 : 20, log).then((rows) => {
    console.log(instancesTable(rows));
    for (const check of instancesChecks(rows)) {
      console.log(`[${check.met ? 'met' : 'MISSED'}] ${check.target}: ${check.value}`);
    }
  });
}
