import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hookRuns, recordingHook } from '../helpers/hook-log';
import { startServer, stopAllServers } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { stopByPid, upgraded } from '../helpers/upgrade';
import { WsClient } from '../helpers/ws-client';

/**
 * Presence across a hot upgrade (in memory, one instance): the new master's table lists
 * the clients it adopted (before the fix it started empty: GET /presence showed none of
 * them), without telling their connect or their channel's `occupied` again; their ends
 * then leave it as any client's do.
 */

interface Presence {
  clients: { client: string; since: string }[];
}

let dir = '';
let newMaster = 0;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-upgrade-presence-'))));
afterAll(async () => {
  await stopByPid(newMaster);
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

test('adopted clients stay in the presence table after a hot upgrade, with no second connect or occupied', async () => {
  const log = path.join(dir, 'hooks.log');
  const hook = recordingHook(dir, log);
  const server = await startServer([
    '--no-demo',
    '--spare-workers',
    '1',
    '--vacate-grace',
    '0.2',
    ...['--on-connect', hook, '--on-disconnect', hook, '--on-channel', hook],
  ]);
  const presence = async (): Promise<string[]> => {
    const body = (await (await fetch(`${server.httpUrl}/presence/news`)).json()) as Presence;
    return body.clients.map((entry) => entry.client).sort();
  };
  const clients = [
    await WsClient.open(`${server.url}news`),
    await WsClient.open(`${server.url}news`),
  ];
  await waitFor(() => hookRuns(log, 'connect').length === 2, 'both connect hooks');
  const listed = await waitFor(async () => {
    const ids = await presence();
    return ids.length === 2 && ids;
  }, 'both clients in presence');
  expect(hookRuns(log, 'occupied')).toHaveLength(1);

  newMaster = await upgraded(server);
  await server.exited;
  expect(server.output).toMatch(/Hot upgrade: adopted 2 of 2 worker\(s\)/);

  // The new master lists them, as they were.
  expect(await presence()).toEqual(listed);
  // A third client's connect hook is a barrier: a repeated connect or occupied is told by then.
  const third = await WsClient.open(`${server.url}news`);
  await waitFor(() => hookRuns(log, 'connect').length === 3, 'the third connect hook');
  expect(hookRuns(log, 'occupied')).toHaveLength(1);
  expect((await presence()).length).toBe(3);

  // Their ends leave the table; the channel is vacated once, after the grace.
  for (const client of [...clients, third]) client.ws.close();
  await waitFor(() => hookRuns(log, 'disconnect').length === 3, 'the three disconnect hooks');
  await waitFor(() => hookRuns(log, 'vacated').length === 1, 'the channel vacated');
  expect(await presence()).toEqual([]);
  expect(hookRuns(log, 'occupied')).toHaveLength(1);
}, 60_000);
