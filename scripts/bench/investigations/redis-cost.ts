/**
 * node dist/scripts/bench/investigations/redis-cost.js [--instances 1,2,4]
 *   [--publications 2000] [--concurrency 8] [--history 0]
 *
 * What Redis itself spends per publication, by how many instances subscribe: for each
 * count N, one redis-server and N instances of ours (--redis, --no-demo), each with one
 * client on /bench (so that each subscribes to it), then `--publications` POST /publish
 * to /bench (`--concurrency` at a time, spread over the instances). Prints redis-server's
 * CPU (utime + stime from /proc/PID/stat, less what it spent idle for as long) per
 * publication, the publications a second, and the CPU of the masters. `--history N`
 * runs the instances with --history N (publications kept in a Redis stream).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberArg, numberListArg } from '../../lib/args';
import { cpuSeconds } from '../../lib/proc';
import { ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { sleep } from '../../lib/sleep';
import { BenchClient } from '../load-client';
import { benchRedis } from '../redis-server';
import { PUBLISH_TOKEN } from '../servers';
import { round } from '../stats';

stopStartedOnSignal();

const { values: args } = parseArgs({
  options: {
    instances: { type: 'string', default: '1,2,4' },
    publications: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    history: { type: 'string', default: '0' },
  },
});
const counts = numberListArg('instances', args.instances, { min: 1, max: 8 });
const publications = numberArg('publications', args.publications, { min: 1 });
const concurrency = numberArg('concurrency', args.concurrency, { min: 1, max: 64 });
const history = numberArg('history', args.history, { min: 0 });

async function publish(port: number, n: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${PUBLISH_TOKEN}` },
    body: JSON.stringify({ channel: '/bench', data: `publication ${n}` }),
  });
  await response.text();
  if (!response.ok) throw new Error(`POST /publish: ${response.status}`);
}

interface Row {
  instances: number;
  redisUsPerPublication: number;
  publicationsPerSecond: number;
  mastersUsPerPublication: number;
}

async function measure(instances: number): Promise<Row> {
  const { redis, url } = await benchRedis();
  const flags = ['--port', '0', '--no-demo', '--redis', url];
  if (history > 0) flags.push('--history', String(history));
  const servers: ServerProcess[] = [];
  const clients: BenchClient[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      const server = await ServerProcess.ours(flags, {
        env: { ...process.env, PUSH_WS_PUBLISH_TOKEN: PUBLISH_TOKEN },
      }).ready(30_000);
      servers.push(server);
      await server.waitForLog(/Redis backplane up/, 15_000);
      clients.push(await BenchClient.open(server.port, 30_000, '/bench'));
    }
    await sleep(1000);
    // Redis's idle rate (its cron), to take off what the publications cost.
    const idleFrom = cpuSeconds(redis.pid);
    await sleep(2000);
    const idlePerMs = (cpuSeconds(redis.pid) - idleFrom) / 2000;
    const redisBefore = cpuSeconds(redis.pid);
    const mastersBefore = servers.reduce((sum, s) => sum + cpuSeconds(s.pid), 0);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, lane) => {
        while (next < publications) {
          const n = next++;
          await publish(servers[(n + lane) % servers.length].port, n);
        }
      }),
    );
    const ms = performance.now() - started;
    const redisCpu = cpuSeconds(redis.pid) - redisBefore - idlePerMs * ms;
    const mastersCpu = servers.reduce((sum, s) => sum + cpuSeconds(s.pid), 0) - mastersBefore;
    return {
      instances,
      redisUsPerPublication: round((redisCpu * 1e6) / publications, 1),
      publicationsPerSecond: round(publications / (ms / 1000), 0),
      mastersUsPerPublication: round((mastersCpu * 1e6) / publications, 1),
    };
  } finally {
    for (const client of clients) client.destroy();
    await Promise.all(servers.map((server) => server.stop(15_000)));
    await redis.terminate(5000);
  }
}

async function main(): Promise<void> {
  for (const instances of counts) {
    const row = await measure(instances);
    console.log(
      `${row.instances} instance(s): Redis ${row.redisUsPerPublication} µs CPU per publication,` +
        ` ${row.publicationsPerSecond} publications/s, masters ${row.mastersUsPerPublication} µs`,
    );
  }
}

main().catch((error: Error) => {
  console.error(`redis-cost failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
