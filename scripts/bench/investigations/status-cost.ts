/**
 * node dist/scripts/bench/investigations/status-cost.js [--clients 200] [--rate 800] [--seconds 10] [--root DIR]
 *
 * What GET /status costs the master under a flood of requests: C connected clients,
 * R requests a second for S seconds; prints requests answered, their latency and the
 * master's CPU seconds. --root runs another checkout's build (to compare versions).
 */
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { ROOT, ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { type BenchClient, openClients } from '../load-client';
import { round, spread } from '../stats';
import { cpuSeconds } from '../../lib/proc';

stopStartedOnSignal();

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    rate: { type: 'string', default: '800' },
    seconds: { type: 'string', default: '10' },
    root: { type: 'string', default: ROOT },
  },
});

function get(port: number, agent: http.Agent): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/status', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - started));
      })
      .on('error', reject);
  });
}

async function main(): Promise<void> {
  const clients = numberArg('clients', args.clients, { min: 1 });
  const rate = numberArg('rate', args.rate, { min: 1 });
  const seconds = numberArg('seconds', args.seconds, { min: 1 });
  const root = path.resolve(args.root);
  const server = ServerProcess.builtIn(root, [
    '--port',
    '0',
    '--max-clients',
    String(clients + 10),
  ]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let open: BenchClient[] = [];
  try {
    await server.ready(30000);
    open = await openClients(server.port, clients);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const before = cpuSeconds(server.pid);
    const latencies: number[] = [];
    const end = Date.now() + seconds * 1000;
    const pending: Promise<void>[] = [];
    for (let tick = Date.now(); tick < end; tick += 1000 / rate) {
      const wait = tick - Date.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(
        get(server.port, agent).then(
          (ms) => void latencies.push(ms),
          () => undefined,
        ),
      );
    }
    await Promise.all(pending);
    const cpu = cpuSeconds(server.pid) - before;
    const s = spread(latencies);
    console.log(
      `/status with ${clients} clients, ${rate} req/s for ${seconds} s: ${latencies.length} answered, ` +
        `latency p50 ${round(s.p50)} ms p99 ${round(s.p99)} ms, master CPU ${round(cpu)} s ` +
        `(${round((cpu / seconds) * 100)} % of a core)`,
    );
  } finally {
    agent.destroy();
    for (const client of open) client.destroy();
    await server.stop(15000);
  }
}

main().catch((error: Error) => {
  console.error(`status-cost bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
