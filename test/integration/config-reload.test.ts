import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FAST,
  ServerProcess,
  startServer,
  statusOf,
  stopAllServers,
  track,
} from '../helpers/server';
import { commandLine, environ } from '../helpers/proc';
import { waitFor } from '../helpers/wait';
import { handshakeRefusal, WsClient } from '../helpers/ws-client';

/**
 * --config FILE on a real server: read at start; SIGHUP re-reads it and changes the
 * origins, the log level and --max-clients while the clients stay connected; a bad
 * file on SIGHUP changes nothing and says so in one line.
 */

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'push-ws-reload-'))));
afterAll(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

const A = 'https://a.example';
const B = 'https://b.example';

interface Limits {
  limits: { max_clients: number; origins: string[] };
}

const count = (text: string, pattern: RegExp): number =>
  text.split('\n').filter((line) => pattern.test(line)).length;

test('a bad file at start exits 2 with one line naming the file and the key', async () => {
  const file = path.join(dir, 'bad.toml');
  writeFileSync(file, 'max-clients = 0\n');
  const server = track(ServerProcess.ours(['--port', '0', '--config', file]));
  expect((await server.exited).code).toBe(2);
  expect(server.output.trim()).toMatch(
    new RegExp(`^push-websocket: --config ${file}: key "max-clients": --max-clients must be`),
  );
  expect(server.output.trim().split('\n')).toHaveLength(1);
});

test('a token in the file reaches no log line, argv or process environment', async () => {
  const token = 'file-only-admin-token-31337';
  const file = path.join(dir, 'secret.toml');
  writeFileSync(file, `admin-token = "${token}"\npublish-token = "${token}-publish"\n`);
  const server = await startServer([...FAST, '--config', file, '--log-level', 'debug']);
  const client = await WsClient.open(server.url);
  const worker = await client.workerPid();
  expect(server.output).toMatch(/Setting --admin-token from the config file \(value hidden\)/);
  // It is in force: /status needs it.
  expect((await fetch(`${server.httpUrl}/status`)).status).toBe(401);
  const authorized = { headers: { Authorization: `Bearer ${token}` } };
  expect((await fetch(`${server.httpUrl}/status`, authorized)).status).toBe(200);
  for (const pid of [server.pid, worker, ...server.workerPids()]) {
    expect(commandLine(pid) ?? '').not.toContain(token);
    expect(JSON.stringify(environ(pid))).not.toContain(token);
  }
  expect(server.output).not.toContain(token);
  client.terminate();
});

test('SIGHUP changes origins, log level and --max-clients live; a bad file changes nothing', async () => {
  const file = path.join(dir, 'live.toml');
  writeFileSync(
    file,
    `origin = ["${A}"]\nmax-clients = 10\nlog-level = "info"\nspare-workers = 1\n`,
  );
  const server = await startServer([...FAST, '--config', file]);
  let limits = (await statusOf<Limits>(server)).limits;
  expect([limits.max_clients, limits.origins]).toEqual([10, [A]]);
  expect(await handshakeRefusal(server.url, { origin: B })).toBe(403);
  const first = await WsClient.open(server.url, undefined, { origin: A });
  await first.workerPid();

  writeFileSync(
    file,
    `origin = ["${B}"]\nmax-clients = 2\nlog-level = "debug"\nspare-workers = 3\n`,
  );
  const before = server.output.length;
  server.child.kill('SIGHUP');
  await server.waitForLog(/SIGHUP: reloaded/);
  expect(server.output.slice(before)).toMatch(
    /SIGHUP: reloaded --max-clients, --spare-workers, --origin, --log-level$/m,
  );
  // More spares are forked at once.
  await waitFor(
    async () => (await statusOf<{ spares: number[] }>(server)).spares.length >= 3,
    '3 spares',
  );
  limits = (await statusOf<Limits>(server)).limits;
  expect([limits.max_clients, limits.origins]).toEqual([2, [B]]);

  // The client of the old origin stays and keeps its pushes.
  const had = first.messages.length;
  await first.waitForMessages(had + 3);
  expect(first.closeCode).toBeUndefined();
  // New handshakes meet the new origins and the new limit; debug lines now show.
  expect(await handshakeRefusal(server.url, { origin: A })).toBe(403);
  const second = await WsClient.open(server.url, undefined, { origin: B });
  await second.workerPid();
  expect(await handshakeRefusal(server.url, { origin: B })).toBe(503);
  expect(server.output.slice(before)).toMatch(/Handshake from/);
  expect(server.output.slice(0, before)).not.toMatch(/Handshake from/);

  // A bad file: one line, nothing changed, still serving.
  writeFileSync(file, `origin = ["${A}"]\nmax-clients = "many"\n`);
  server.child.kill('SIGHUP');
  await server.waitForLog(/SIGHUP: settings not reloaded/);
  expect(count(server.output, /SIGHUP: settings not reloaded/)).toBe(1);
  expect(server.output).toMatch(
    new RegExp(
      `SIGHUP: settings not reloaded, nothing changed: --config ${file}: key "max-clients" must be a number`,
    ),
  );
  limits = (await statusOf<Limits>(server)).limits;
  expect([limits.max_clients, limits.origins]).toEqual([2, [B]]);
  const still = first.messages.length;
  await first.waitForMessages(still + 2);
  await second.waitForMessages(3);
  expect(server.running).toBe(true);
  first.terminate();
  second.terminate();
}, 60000);
