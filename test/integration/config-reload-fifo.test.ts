import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Fifo, hasOpen } from '../helpers/fifo';
import { ServerProcess, statusOf, stopAllServers, track } from '../helpers/server';
import { waitFor } from '../helpers/wait';

/**
 * A SIGHUP reload whose --config is a FIFO nobody writes again (`--config <(command)`):
 * before the fix, the reload's readFileSync blocked the master's event loop for good
 * (no handshake, no /healthz, no publication). Now the read waits without blocking, for
 * at most 5 s, and then leaves the running settings as they are with one line.
 */

let dir = '';
let fifo: Fifo | undefined;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-fifo-'))));
afterAll(async () => {
  fifo?.close();
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

const NOT_READ =
  /SIGHUP: settings not reloaded, nothing changed: --config .*: cannot read it: nothing read to its end within 5 s/;

const maxClients = async (server: ServerProcess): Promise<number> =>
  (await statusOf<{ limits: { max_clients: number } }>(server)).limits.max_clients;

/** A server whose --config is a FIFO, written once at its start: --max-clients 10. */
async function startFromFifo(name: string): Promise<{ config: Fifo; server: ServerProcess }> {
  const config = new Fifo(path.join(dir, name));
  fifo = config;
  config.write(JSON.stringify({ 'max-clients': 10 }));
  const server = track(ServerProcess.ours(['--port', '0', '--no-demo', '--config', config.file]));
  await config.closeWhenRead(server.pid);
  await server.ready();
  expect(await maxClients(server)).toBe(10);
  return { config, server };
}

test('a SIGHUP reload from a FIFO nobody writes keeps the master serving, then a written one applies', async () => {
  const { config, server } = await startFromFifo('push-websocket.json');

  // Nobody writes: the reload waits for the FIFO, the master answers meanwhile.
  let before = server.output.length;
  server.child.kill('SIGHUP');
  await waitFor(() => hasOpen(server.pid, config.file), 'the reload to open the FIFO');
  // A second SIGHUP while the first waits is not queued behind it.
  server.child.kill('SIGHUP');
  await server.waitForLog(/a reload is still reading its file; this one is ignored/);
  let answers = 0;
  let slowest = 0;
  while (!NOT_READ.test(server.output.slice(before))) {
    const asked = Date.now();
    // Generous: a blocked loop never answers; a loaded CI box answers in well under 2 s.
    const response = await fetch(`${server.httpUrl}/healthz`, {
      signal: AbortSignal.timeout(2000),
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    slowest = Math.max(slowest, Date.now() - asked);
    answers += 1;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`/healthz answered ${answers} times while the reload waited, slowest ${slowest} ms`);
  expect(answers).toBeGreaterThan(3);
  expect(
    server.output
      .slice(before)
      .split('\n')
      .filter((line) => NOT_READ.test(line)),
  ).toHaveLength(1);
  expect(await maxClients(server)).toBe(10);
  expect(hasOpen(server.pid, config.file)).toBe(false);

  // Written again: the next SIGHUP reads it and the change takes effect.
  before = server.output.length;
  config.write(JSON.stringify({ 'max-clients': 3 }));
  server.child.kill('SIGHUP');
  await config.closeWhenRead(server.pid);
  await server.waitForLog(/SIGHUP: reloaded --max-clients$/m);
  expect(server.output.slice(before)).not.toMatch(/not reloaded/);
  expect(await maxClients(server)).toBe(3);
  expect(server.running).toBe(true);
}, 60_000);

// Regression: `--config <(command)` is a pipe read to its end at start. Read again, by a
// SIGHUP or by a hot upgrade's new master (which inherits the descriptor), it gave
// nothing at once, and an empty TOML file sets nothing: every setting went back to its
// default without a word (--max-clients 10 became the default).
test('a config pipe that gives nothing when read again changes nothing: neither a reload nor a hot upgrade', async () => {
  const { config, server } = await startFromFifo('once.json');

  // A writer that gives nothing: the reader gets its end of file at once, as from <(...).
  config.open();
  server.child.kill('SIGHUP');
  await config.closeWhenRead(server.pid);
  const refused = await server.waitForLog(/SIGHUP: settings not reloaded, nothing changed: .*\n/);
  expect(refused[0]).toMatch(/nothing in it, and it is no file/);
  expect(await maxClients(server)).toBe(10);

  // The hot upgrade's new master reads the same nothing: it stops, the old one serves on.
  const before = server.output.length;
  config.open();
  server.child.kill('SIGUSR2');
  const started = await server.waitForLog(/starting a new master \(pid (\d+)\)/);
  const newPid = Number(started[1]);
  await config.closeWhenRead(newPid);
  const failed = await server.waitForLog(/Hot upgrade failed: .*\n/);
  expect(failed[0]).toMatch(
    /exited \(code 2, signal null\) before it was ready; this master carries on/,
  );
  expect(server.output.slice(before)).toMatch(/nothing in it, and it is no file/);
  expect(server.running).toBe(true);
  expect(await maxClients(server)).toBe(10);
}, 60_000);
