import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { published, TOKEN } from '../helpers/channels';
import { Fifo, hasOpen } from '../helpers/fifo';
import { ServerProcess, stopAllServers, track } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/**
 * Signals that reach the master while it is still starting: before the fix, Node's
 * default action for SIGHUP, SIGQUIT and SIGUSR2 ended it. The start is held open by a
 * --config that is a FIFO (as `--config <(command)` gives): the master blocks reading
 * it until the test writes the file, a window in which it runs but is not ready.
 */

describe('signals while the master is starting', () => {
  let dir = '';
  let fifo: Fifo | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-startup-'));
  });
  afterEach(async () => {
    fifo?.close();
    fifo = undefined;
    await stopAllServers();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A master whose --config is a FIFO, blocked reading it; the test gives it the file
   * once `signals` have been sent. `give` gives it again (a reload reads it anew).
   */
  async function startingMaster(signals: NodeJS.Signals[]): Promise<{
    server: ServerProcess;
    fifo: string;
    give: () => Promise<void>;
  }> {
    const config = new Fifo(path.join(dir, 'push-websocket.json'));
    fifo = config;
    const text = JSON.stringify({ 'publish-token': TOKEN });
    // Open before the master starts: its open for reading then waits for no writer.
    config.open();
    const server = track(ServerProcess.ours(['--port', '0', '--no-demo', '--config', config.file]));
    await waitFor(() => hasOpen(server.pid, config.file), 'the master reading its config');
    // Unhandled, any of them ends the master: ready() then rejects ("exited before").
    for (const signal of signals) process.kill(server.pid, signal);
    /** Writes the file; the master reads it to its end when the writer closes. */
    const give = async (): Promise<void> => {
      config.write(text);
      await config.closeWhenRead(server.pid);
    };
    await give();
    return { server, fifo: config.file, give };
  }

  test('a SIGHUP and a SIGUSR2 while the master is starting do not kill it; it reloads once ready and serves', async () => {
    const { server, give } = await startingMaster(['SIGHUP', 'SIGUSR2']);
    await server.ready();
    // The held SIGHUP: the config is read again (the FIFO once more) now it is ready.
    await server.waitForLog(/Received SIGHUP while starting: reading the configuration again/);
    await give();
    await server.waitForLog(/SIGHUP: settings read again, nothing changed/);
    await server.waitForLog(
      /Received SIGUSR2 while starting: ignored \(this master has just loaded the code on disk\)/,
    );
    expect(server.output).not.toMatch(/Hot upgrade/);

    const client = await WsClient.open(`${server.url}news`);
    await waitFor(async () => {
      await published(server, { channel: '/news', data: 'served' });
      return client.messages.length > 0;
    }, 'a publication to reach the client');
    expect(client.messages[0]).toBe('served');
    client.ws.close();
    expect(server.running).toBe(true);
  }, 30_000);

  test('a SIGQUIT while the master is starting does not kill it: it drains once ready, and exits cleanly', async () => {
    const { server } = await startingMaster(['SIGQUIT']);
    await server.ready();
    // No client to drain: the drain ends at once, and the master stops as after any drain.
    expect(await server.exited).toMatchObject({ code: 0, signal: null });
    expect(server.output).toMatch(
      /Received SIGQUIT while starting: draining now that the master is ready\n.*Draining \(SIGQUIT\)/,
    );
    expect(server.output).toMatch(/Every client has left: stopping after the drain/);
  }, 30_000);
});
