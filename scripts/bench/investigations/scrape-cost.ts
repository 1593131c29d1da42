/**
 * npm run bench:scrape [-- --clients N --scrapes M]: what one GET /metrics costs the
 * master with N idle clients (500 by default; --no-demo, so nothing else runs).
 *
 * - back to back: M scrapes one after another (the workers' report round and the /proc
 *   memory sum are reused for a second, so most of these render cached figures);
 * - cold: 10 scrapes 1.1 s apart, each asking every worker for its counts over IPC and
 *   reading every worker's /proc/PID/status;
 * - for comparison, 10 cold GET /status (the same IPC round, no /proc pass, a JSON body
 *   listing every client).
 *
 * Prints ms per scrape (p50 / p90 / max) and the master's CPU seconds (utime + stime of
 * /proc/PID/stat, less its idle rate), and the workers' CPU for the cold rounds.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberArg } from '../../lib/args';
import { ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { openClients } from '../load-client';
import { round, spread } from '../stats';
import { cpuSeconds, processTree } from '../../lib/proc';
import { sleep } from '../../lib/sleep';

stopStartedOnSignal();

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '500' },
    scrapes: { type: 'string', default: '100' },
  },
});
const CLIENTS = numberArg('clients', args.clients, { min: 1 });
const SCRAPES = numberArg('scrapes', args.scrapes, { min: 1 });
const COLD_SCRAPES = 10;

function workersCpu(master: number): number {
  return processTree(master)
    .filter((pid) => pid !== master)
    .reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** `count` requests 1.1 s apart (each a fresh report round): ms each, master CPU ms each. */
async function coldRequests(
  url: string,
  master: number,
  idleRate: number,
  count: number,
): Promise<{ times: number[]; cpuMs: number; workersCpuMs: number }> {
  const times: number[] = [];
  const cpu = cpuSeconds(master);
  const workersBefore = workersCpu(master);
  const wall = performance.now();
  for (let i = 0; i < count; i++) {
    await sleep(1100);
    times.push((await timedScrape(url)).ms);
  }
  const seconds = (performance.now() - wall) / 1000;
  const spent = cpuSeconds(master) - cpu - idleRate * seconds;
  const workersSpent = workersCpu(master) - workersBefore;
  return { times, cpuMs: (spent / count) * 1000, workersCpuMs: (workersSpent / count) * 1000 };
}

async function timedScrape(url: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status}`);
  return { ms: performance.now() - started, body };
}

async function main(): Promise<void> {
  const server = await ServerProcess.ours([
    '--port',
    '0',
    '--no-demo',
    '--max-clients',
    String(CLIENTS + 16),
  ]).ready();
  const url = `${server.httpUrl}/metrics`;
  try {
    const opened = performance.now();
    const clients = await openClients(server.port, CLIENTS);
    console.log(
      `${clients.length} idle clients connected in ${round((performance.now() - opened) / 1000, 1)} s`,
    );
    await sleep(3000); // replacement spares settle

    const idleFrom = cpuSeconds(server.pid);
    await sleep(2000);
    const idleRate = (cpuSeconds(server.pid) - idleFrom) / 2;

    const times: number[] = [];
    const cpu = cpuSeconds(server.pid);
    const wall = performance.now();
    let body = '';
    for (let i = 0; i < SCRAPES; i++) {
      const scrape = await timedScrape(url);
      times.push(scrape.ms);
      body = scrape.body;
    }
    const seconds = (performance.now() - wall) / 1000;
    const spent = cpuSeconds(server.pid) - cpu - idleRate * seconds;
    const warm = spread(times);
    console.log(
      `back to back, ${SCRAPES} scrapes: p50 ${warm.p50} ms, p90 ${warm.p90} ms, max ${round(Math.max(...times))} ms; ` +
        `master CPU ${round(spent, 3)} s in all, ${round((spent / SCRAPES) * 1000)} ms per scrape`,
    );

    const cold = await coldRequests(url, server.pid, idleRate, COLD_SCRAPES);
    const fresh = spread(cold.times);
    console.log(
      `cold (a report round to ${CLIENTS} workers and a /proc pass each), ${COLD_SCRAPES} scrapes: ` +
        `p50 ${fresh.p50} ms, p90 ${fresh.p90} ms, max ${round(Math.max(...cold.times))} ms; ` +
        `master CPU ${round(cold.cpuMs)} ms per scrape; ` +
        `workers' CPU ${round(cold.workersCpuMs)} ms per scrape, all workers together`,
    );
    const status = await coldRequests(
      `${server.httpUrl}/status`,
      server.pid,
      idleRate,
      COLD_SCRAPES,
    );
    const statusSpread = spread(status.times);
    console.log(
      `for comparison, cold GET /status, ${COLD_SCRAPES} requests: p50 ${statusSpread.p50} ms, ` +
        `p90 ${statusSpread.p90} ms; master CPU ${round(status.cpuMs)} ms per request`,
    );
    console.log(`master idle: ${round(idleRate * 1000, 1)} ms CPU per second`);
    console.log(
      `scrape: ${Buffer.byteLength(body)} bytes, ${body.split('\n').length} lines; ours:`,
    );
    for (const line of body.split('\n')) {
      if (/^push_websocket_\w+(\{state="\w+"\}|\{outcome="\w+"\})? /.test(line))
        console.log(`  ${line}`);
    }
    for (const client of clients) client.destroy();
  } finally {
    await server.stop(30000);
  }
}

main().catch((error: Error) => {
  console.error(`scrape-cost bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
