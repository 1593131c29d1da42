import { isAlive, commandLine } from '../helpers/proc';
import { publish, pubData, pubTexts, TOKEN } from '../helpers/channels';
import { startServer, stopAllServers, statusOf, type ServerProcess } from '../helpers/server';
import { waitFor, HANG_BOUND_MS } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/**
 * Hot upgrade (SIGUSR2, docs/upgrade.md): a new master takes the listening socket and
 * adopts every running worker; the old one exits. Clients notice nothing.
 */

interface Status {
  clients: { id: number; pid: number; channel?: string; pushed: number }[];
}

/** The new master's pid, from the old master's last line. */
async function upgraded(server: ServerProcess, from = 0): Promise<number> {
  process.kill(server.pid, 'SIGUSR2');
  const match = await waitFor(
    () => /master pid (\d+) took over/.exec(server.output.slice(from)) ?? undefined,
    'the hand-over',
    HANG_BOUND_MS,
  );
  return Number(match[1]);
}

/** Stops a master that is no test's child (a new one) by PID, and waits until it is gone. */
async function stopByPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !isAlive(pid), `master ${pid} to exit`);
}

/** Publishes `pub:N` to each channel every `everyMs` until stopped; returns how many. */
function publisher(
  server: ServerProcess,
  channels: string[],
  everyMs: number,
): { stop: () => Promise<number>; failures: string[] } {
  let n = 0;
  let running = true;
  const failures: string[] = [];
  const loop = (async (): Promise<void> => {
    while (running) {
      n++;
      for (const channel of channels) {
        // As any publisher across a restart: a 503 or a connection closed under the
        // request is tried again (the old master publishes nothing once it hands over).
        let outcome = '';
        for (let attempt = 0; attempt < 5; attempt++) {
          const response = await publish(server, { channel, data: `pub:${n}` }).catch(
            (error: Error) => ({ ok: false, status: error.message }) as const,
          );
          if (response.ok) {
            outcome = '';
            break;
          }
          outcome = `pub:${n} to ${channel}: ${response.status}`;
          if (response.status !== 503 && response.status !== 'fetch failed') break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        if (outcome !== '') failures.push(outcome);
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    failures,
    stop: async () => {
      running = false;
      await loop;
      return n;
    },
  };
}

const expected = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `pub:${i + 1}`);

describe('hot upgrade', () => {
  const masters: number[] = [];
  const publishers: { stop: () => Promise<number> }[] = [];
  afterEach(async () => {
    for (const pub of publishers.splice(0)) await pub.stop();
    for (const pid of masters.splice(0)) await stopByPid(pid);
    await stopAllServers();
  });

  test('a hot upgrade under a running publisher loses and drops nothing; every worker is adopted', async () => {
    const server = await startServer([
      '--publish-token',
      TOKEN,
      '--no-demo',
      '--spare-workers',
      '2',
      '--history',
      '1000',
    ]);
    const text = await WsClient.open(`${server.url}news`);
    const json = await WsClient.open(`${server.url}scores?format=json`);
    await json.waitForMessages(1); // its position
    const before = await waitFor(async () => {
      const status = await statusOf<Status>(server);
      return status.clients.length === 2 && status;
    }, 'both clients listed');

    const pub = publisher(server, ['/news', '/scores'], 10);
    publishers.push(pub);
    await waitFor(() => pubTexts(text).length >= 5, 'publications before');
    const newPid = await upgraded(server);
    masters.push(newPid);
    await server.exited;
    const countAtHandover = pubTexts(text).length;
    await waitFor(() => pubTexts(text).length >= countAtHandover + 5, 'publications after');
    const sent = await pub.stop();

    expect(pub.failures).toEqual([]);
    await waitFor(() => pubTexts(text).length >= sent && pubData(json).length >= sent, 'all');
    expect(pubTexts(text)).toEqual(expected(sent));
    expect(pubData(json)).toEqual(expected(sent));
    expect(text.closeCode).toBeUndefined();
    expect(json.closeCode).toBeUndefined();

    const after = await statusOf<Status>(server);
    expect(after.clients.map((c) => [c.id, c.pid]).sort()).toEqual(
      before.clients.map((c) => [c.id, c.pid]).sort(),
    );
    for (const { pid } of after.clients) {
      expect(commandLine(pid)).toMatch(
        new RegExp(`^push-websocket worker #\\d+ \\S+ \\(master ${newPid}\\)`),
      );
    }
    // A new client gets a new id, from the new master's own spare.
    const late = await WsClient.open(`${server.url}news?format=json`);
    await late.waitForMessages(1);
    const ids = (await statusOf<Status>(server)).clients.map((c) => c.id);
    expect(new Set(ids).size).toBe(3);
    expect(Math.max(...ids)).toBeGreaterThan(Math.max(...before.clients.map((c) => c.id)));
    for (const client of [text, json, late]) client.ws.close();
  }, 60_000);
});
