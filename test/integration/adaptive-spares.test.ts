import { childrenOf, commandLine } from '../helpers/proc';
import { FAST, type ServerProcess, startServer, stopAllServers, statusOf } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/**
 * --spare-workers MIN:MAX on the real server: a burst raises the idle workers toward
 * MAX, and once no client needs them they go back to MIN (after the 30 s hold, one a
 * second), as `ps` and /status show it.
 */

interface Status {
  spares: number[];
  spare_target: number;
  clients: unknown[];
  limits: Record<string, unknown>;
}

const status = (server: ServerProcess): Promise<Status> => statusOf<Status>(server);

/** Children of the master titled as idle workers (as `ps -o args` shows them). */
function idleWorkers(server: ServerProcess): number[] {
  return childrenOf(server.pid)
    .filter((child) => child.state !== 'Z')
    .map((child) => child.pid)
    .filter((pid) => commandLine(pid) === 'push-websocket worker idle');
}

/**
 * Waits until the idle workers in /proc, the ready spares in /status and the target
 * agree on one count that `wanted` accepts.
 */
async function settled(
  server: ServerProcess,
  what: string,
  wanted: (count: number) => boolean,
  boundMs: number,
): Promise<Status> {
  let last = '';
  return waitFor(
    async () => {
      const s = await status(server);
      const idle = idleWorkers(server).length;
      last = `/proc idle ${idle}, /status spares ${s.spares.length}, target ${s.spare_target}`;
      return wanted(idle) && idle === s.spares.length && idle === s.spare_target && s;
    },
    what,
    boundMs,
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message} (last: ${last})`);
  });
}

describe('--spare-workers 1:4', () => {
  afterAll(stopAllServers);

  test('a burst raises the idle workers above 1; without demand they fall back to 1', async () => {
    const server = await startServer([...FAST, '--spare-workers', '1:4']);
    const start = await settled(server, 'one idle worker', (n) => n === 1, 15000);
    expect(start.limits).toMatchObject({ spare_workers: 1, spare_workers_max: 4 });

    // Eight clients at once on one spare: those that wait for a start-up raise the target.
    const burstAt = Date.now();
    const clients = await Promise.all(Array.from({ length: 8 }, () => WsClient.open(server.url)));
    await Promise.all(clients.map((client) => client.workerPid()));
    const raised = await settled(server, 'more idle workers', (n) => n > 1, 15000);
    expect(raised.spare_target).toBeLessThanOrEqual(4);
    expect(raised.clients).toHaveLength(8);
    await server.waitForLog(
      /Spare workers: target 1 → [234] \(\d+ client\(s\) waited for a worker to start\)/,
    );

    // Demand stops: the clients leave, and the surplus exits after the hold.
    for (const client of clients) client.ws.close();
    await settled(server, 'one idle worker again', (n) => n === 1, 50000);
    expect(Date.now() - burstAt).toBeGreaterThanOrEqual(30000);
    await server.waitForLog(/Spare workers: target 2 → 1; retiring .*\(back to the minimum/);
    // A retired spare is no fault: nothing was logged as one.
    expect(server.output).not.toMatch(/Idle worker pid \d+ exited/);
    expect(server.output).not.toMatch(/failed to start/);
  }, 90000);
});
