/**
 * npm run bench:fanout: the push sources' costs.
 *
 * 1. POST /publish fan-out: 100 clients (--no-demo), 50 broadcasts one after another;
 *    latency from sending the request to each client's receipt, p50 / p90 / p99.
 * 2. Memory with --exec: 20 clients each running `cat`; PSS per client of the whole
 *    tree (worker + command), over the idle baseline.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { openClients } from '../load-client';
import { round, spread } from '../stats';
import { treePssKiB } from '../../lib/proc';
import { sleep } from '../../lib/sleep';
import { PUBLISH_TOKEN } from '../servers';

stopStartedOnSignal();

// No options: a stray argument stops the script rather than being ignored.
parseArgs({ options: {} });

function startServer(args: string[]): Promise<ServerProcess> {
  return ServerProcess.ours(['--port', '0', '--max-clients', '1000', ...args], {
    env: { ...process.env, PUSH_WS_PUBLISH_TOKEN: PUBLISH_TOKEN },
  }).ready();
}

async function fanout(): Promise<void> {
  const server = await startServer(['--no-demo']);
  const { port } = server;
  const clients = await openClients(port, 100);
  const latencies: number[] = [];
  let firstRound: number[] = [];
  let sentAt = 0;
  let received = 0;
  for (const client of clients) {
    client.onText = (text, at) => {
      if (!text.startsWith('fanout ')) return;
      latencies.push(at - sentAt);
      received++;
    };
  }
  for (let broadcast = 0; broadcast < 50; broadcast++) {
    received = 0;
    sentAt = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${PUBLISH_TOKEN}` },
      body: `fanout ${broadcast}`,
    });
    const { queued } = (await response.json()) as { queued: number };
    const deadline = Date.now() + 5000;
    while (received < queued && Date.now() < deadline) await sleep(1);
    await sleep(20);
    if (broadcast === 0) firstRound = [...latencies];
  }
  const s = spread(latencies);
  const later = spread(latencies.slice(firstRound.length));
  console.log(
    `publish fan-out to 100 clients, 50 broadcasts: ${s.n} deliveries, p50 ${s.p50} ms, p90 ${s.p90} ms, p99 ${s.p99} ms` +
      ` (first broadcast: last delivery after ${round(Math.max(...firstRound))} ms;` +
      ` broadcasts 2-50: p50 ${later.p50} ms, p99 ${later.p99} ms)`,
  );
  for (const client of clients) client.destroy();
  await server.stop(15000);
}

async function execMemory(): Promise<void> {
  const server = await startServer(['--exec', 'cat']);
  const { port } = server;
  await sleep(1000);
  const baseline = treePssKiB(server.pid);
  const clients = await openClients(port, 20);
  await sleep(1500);
  const perClient = (treePssKiB(server.pid) - baseline) / 1024 / clients.length;
  console.log(`--exec cat: ${round(perClient)} MiB PSS per client (worker + command), 20 clients`);
  for (const client of clients) client.destroy();
  await server.stop(15000);
}

fanout()
  .then(execMemory)
  .catch((error: Error) => {
    console.error(`fanout bench failed: ${error.stack ?? error.message}`);
    process.exit(1);
  });
