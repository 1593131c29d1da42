import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MIN_CONTROL_VERSION } from '../../src/shared/control-channel';
import { published, TOKEN } from '../helpers/channels';
import { hookRuns, recordingHook } from '../helpers/hook-log';
import { childrenOf, isAlive } from '../helpers/proc';
import { ROOT, ServerProcess, statusOf, stopAllServers, track } from '../helpers/server';
import { HANG_BOUND_MS, waitFor } from '../helpers/wait';
import { stopByPid, tookOver } from '../helpers/upgrade';
import { WsClient } from '../helpers/ws-client';

/**
 * A deploy whose new master cannot adopt the running workers (their control protocol
 * is older than any it speaks, docs/upgrade.md): each of their clients is closed with
 * 1012 and a reconnect hint, not dropped; the new master serves the reconnect.
 */

interface Status {
  clients: { id: number; pid: number }[];
}

const WORKER_BUNDLE = 'dist/workers/push-worker.bundle.js';

/** A copy of the build whose worker bundle speaks a control version this build does not adopt. */
function oldBuild(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-old-build-'));
  cpSync(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
  const bundle = path.join(root, WORKER_BUNDLE);
  const source = readFileSync(bundle, 'utf8');
  const version = /\bCONTROL_VERSION = (\d+);/g;
  // The bundle's one assignment of the constant (esbuild keeps the name).
  expect(source.match(version)).toHaveLength(1);
  writeFileSync(bundle, source.replace(version, `CONTROL_VERSION = ${MIN_CONTROL_VERSION - 1};`));
  return root;
}

interface Presence {
  clients: { client: string }[];
}

describe('hot upgrade over workers too old to adopt', () => {
  let root = '';
  let newMaster = 0;
  afterEach(async () => {
    await stopByPid(newMaster);
    await stopAllServers();
    rmSync(root, { recursive: true, force: true });
  });

  test('a worker too old to adopt closes its client with 1012 and a hint; the reconnect is served by the new master', async () => {
    root = oldBuild();
    const hookLog = path.join(root, 'hooks.log');
    const server = track(
      ServerProcess.builtIn(root, [
        '--port',
        '0',
        '--publish-token',
        TOKEN,
        '--no-demo',
        '--spare-workers',
        '1',
        '--on-disconnect',
        recordingHook(root, hookLog),
      ]),
    );
    await server.ready();
    const clients = await Promise.all([
      WsClient.open(`${server.url}news`),
      WsClient.open(`${server.url}news`),
    ]);
    const before = await waitFor(async () => {
      const status = await statusOf<Status>(server);
      return status.clients.length === 2 && status;
    }, 'both clients listed');
    const oldWorkers = before.clients.map((c) => c.pid);

    // The deploy: the current build replaces the old one on disk, then SIGUSR2.
    cpSync(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true, force: true });
    process.kill(server.pid, 'SIGUSR2');

    for (const client of clients) {
      expect(await client.closed(HANG_BOUND_MS)).toBe(1012);
      expect(client.closeReason).toMatch(/^service restart; reconnect in \d+ ms$/);
    }
    newMaster = await tookOver(server);
    await server.exited;
    for (const pid of oldWorkers) {
      expect(server.output).toMatch(
        new RegExp(
          `Worker pid ${pid} speaks control version ${MIN_CONTROL_VERSION - 1}, not one this master adopts: its client is closed with 1012`,
        ),
      );
    }
    await waitFor(() => oldWorkers.every((pid) => !isAlive(pid)), 'the old workers to exit');
    // Not waited for: the hand-over did not hang on them.
    expect(server.output).not.toMatch(/exited before they re-attached|still re-attaching/);
    expect((await statusOf<Status>(server)).clients).toEqual([]);

    // Their ends are told as any client's: the new master runs the disconnect hook of
    // each, with 1012 by the server and no exit status (it is not the worker's parent).
    const ended = await waitFor(() => {
      const found = hookRuns(hookLog, 'disconnect');
      return found.length === 2 && found;
    }, 'the disconnect hook of both drained clients');
    const ids = before.clients.map((c) => String(c.id)).sort();
    expect(ended.map(([, client]) => client.replace(/^.*-/, '')).sort()).toEqual(ids);
    for (const [, , channel, code, by, exit, signal] of ended) {
      expect([channel, code, by, exit, signal]).toEqual(['/news', '1012', 'server', '', '']);
    }
    // And they have left the presence table.
    const presence = await (await fetch(`${server.httpUrl}/presence/news`)).json();
    expect((presence as Presence).clients).toEqual([]);

    // The client comes back (after its hint) to a worker of the new master.
    const back = await WsClient.open(`${server.url}news`);
    const after = await waitFor(async () => {
      const status = await statusOf<Status>(server);
      return status.clients.length === 1 && status;
    }, 'the reconnected client listed');
    const [{ pid, id }] = after.clients;
    expect(childrenOf(newMaster).map((child) => child.pid)).toContain(pid);
    expect(Math.max(...before.clients.map((c) => c.id))).toBeLessThan(id);
    await published(server, { channel: '/news', data: 'after the upgrade' });
    await back.waitForMessages(1);
    expect(back.messages).toEqual(['after the upgrade']);
    back.ws.close();
    // One hook run each, never a duplicate (the reconnected client's end aside).
    await waitFor(() => hookRuns(hookLog, 'disconnect').length === 3, 'the last client’s hook');
    const clientsEnded = hookRuns(hookLog, 'disconnect').map(([, client]) => client);
    expect(new Set(clientsEnded).size).toBe(3);
  }, 60_000);
});
