/**
 * npm run bench:fanout: the push sources' costs.
 *
 * 1. POST /publish fan-out: 100 clients (--no-demo), 50 broadcasts one after another;
 *    latency from sending the request to each client's receipt, p50 / p90 / p99.
 * 2. Memory with --exec: 20 clients each running `cat`; PSS per client of the whole
 *    tree (worker + command), over the idle baseline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BenchClient } from './load-client';
import { round, spread, treePssKiB } from './stats';

const ROOT = path.resolve(__dirname, '../../..');
const TOKEN = 'bench-publish-token';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function startServer(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      '--title=push-websocket-master-starting',
      path.join(ROOT, 'dist/src/main.js'),
      '--port',
      '0',
      '--max-clients',
      '1000',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PUSH_WS_PUBLISH_TOKEN: TOKEN } },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server started on [^\s:]+:(\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', () => reject(new Error(`server exited: ${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

async function openMany(port: number, count: number): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  while (clients.length < count) {
    clients.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(8, count - clients.length) }, () => BenchClient.open(port)),
      )),
    );
  }
  return clients;
}

async function fanout(): Promise<void> {
  const { child, port } = await startServer(['--no-demo']);
  const clients = await openMany(port, 100);
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
      headers: { Authorization: `Bearer ${TOKEN}` },
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
  await stop(child);
}

async function execMemory(): Promise<void> {
  const { child, port } = await startServer(['--exec', 'cat']);
  await sleep(1000);
  const baseline = treePssKiB(child.pid as number);
  const clients = await openMany(port, 20);
  await sleep(1500);
  const perClient = (treePssKiB(child.pid as number) - baseline) / 1024 / clients.length;
  console.log(`--exec cat: ${round(perClient)} MiB PSS per client (worker + command), 20 clients`);
  for (const client of clients) client.destroy();
  await stop(child);
}

fanout()
  .then(execMemory)
  .catch((error: Error) => {
    console.error(`fanout bench failed: ${error.stack ?? error.message}`);
    process.exit(1);
  });
