/**
 * node dist/scripts/bench/investigations/reattach-cost.js [--clients 1000]   (build first)
 *
 * A hot upgrade's hand-over alone (docs/upgrade.md, Measured): `--clients` clients on
 * our server (no spares, no demo pushes, nothing published), a quiet moment, then
 * SIGUSR2. Prints the workers' CPU per re-attach (from /proc, beside the same length of
 * quiet before it), the new master's time on a CPU and in the run queue every 2 s while
 * it adopts, and the hand-over's own log lines (the old master's stop, the adoptions).
 */
import { parseArgs } from 'node:util';
import { openAll } from '../hot-upgrade';
import type { BenchClient } from '../load-client';
import { numberArg } from '../../lib/args';
import { freePort } from '../../lib/free-port';
import { childPids, cpuSeconds, isAlive, schedstat } from '../../lib/proc';
import { ServerProcess, stopStartedOnSignal } from '../../lib/server-process';
import { sleep } from '../../lib/sleep';

stopStartedOnSignal();

const QUIET_MS = 3000;
const SAMPLE_MS = 2000;

const { values: args } = parseArgs({ options: { clients: { type: 'string', default: '1000' } } });
const count = numberArg('clients', args.clients, { min: 1, max: 3000 });

const cpuOf = (pids: number[]): number => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

async function main(): Promise<void> {
  const port = await freePort();
  const server = ServerProcess.ours([
    '--port',
    String(port),
    '--no-demo',
    '--spare-workers',
    '0',
    '--max-clients',
    String(count + 100),
  ]);
  let newMaster = 0;
  let clients: BenchClient[] = [];
  try {
    await server.ready(30_000);
    clients = await openAll(port, count, (line) => console.error(line));
    const workers = childPids(server.pid);
    await sleep(QUIET_MS);
    const quietStart = cpuOf(workers);
    await sleep(QUIET_MS);
    const quietCpu = cpuOf(workers) - quietStart;
    const before = server.output.length;
    const upgradeStart = cpuOf(workers);
    process.kill(server.pid, 'SIGUSR2');
    const started = await server.waitForLog(/starting a new master \(pid (\d+)\)/, 60_000);
    newMaster = Number(started[1]);
    let adopting = true;
    const sampler = (async () => {
      let previous = schedstat(newMaster);
      while (adopting) {
        await sleep(SAMPLE_MS);
        const now = schedstat(newMaster);
        console.log(
          `new master, per ${SAMPLE_MS / 1000} s: on a CPU ${Math.round((now.runNs - previous.runNs) / 1e6)} ms, ` +
            `in the run queue ${Math.round((now.waitNs - previous.waitNs) / 1e6)} ms`,
        );
        previous = now;
      }
    })();
    await server.waitForLog(/master pid \d+ took over in \d+ ms/, 300_000);
    adopting = false;
    await sampler;
    await sleep(1000);
    const upgradeCpu = cpuOf(workers) - upgradeStart;
    const perWorker = (seconds: number): string => ((seconds * 1000) / workers.length).toFixed(2);
    console.log(
      `${workers.length} workers: ${perWorker(quietCpu)} ms of CPU each in ${QUIET_MS / 1000} s of quiet; ` +
        `${perWorker(upgradeCpu)} ms each from SIGUSR2 to a second after the old master's exit`,
    );
    for (const line of server.output.slice(before).split('\n')) {
      if (/Hot upgrade/.test(line)) console.log(line);
    }
  } finally {
    for (const client of clients) client.destroy();
    if (newMaster !== 0 && isAlive(newMaster)) {
      process.kill(newMaster, 'SIGTERM');
      const deadline = Date.now() + 15_000;
      while (isAlive(newMaster) && Date.now() < deadline) await sleep(50);
    }
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
