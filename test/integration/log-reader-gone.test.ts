import { FAST, startServer, stopAllServers } from '../helpers/server';
import { WsClient } from '../helpers/ws-client';

afterAll(stopAllServers);

/**
 * The master's log is its stdout and stderr: under systemd a stream to the journal, in
 * a shell a pipe (`npm start | tee log`). When the reader goes away (the journal
 * restarted, the pipeline's other end exited), every later write fails with EPIPE; the
 * master used to die of it at its next log line ("Unhandled 'error' event"), taking
 * every client with it. Now the lines are lost and the clients are served.
 */
test('a master whose log reader is gone (EPIPE) keeps serving its clients', async () => {
  const server = await startServer(FAST);
  server.child.stdout?.destroy();
  server.child.stderr?.destroy();
  const clients: WsClient[] = [];
  for (let i = 0; i < 3; i++) {
    // Each client's lines ("is successfully created!", ...) are writes to the gone reader.
    const client = await WsClient.open(server.url);
    clients.push(client);
    await client.waitForMessages(2);
  }
  const before = clients[0].messages.length;
  await clients[0].waitForMessages(before + 2);
  expect(server.running).toBe(true);
  // "quit" (the master logs and SIGTERMs the worker), and a plain close.
  clients[0].ws.send('quit');
  expect(await clients[0].closed()).toBe(1000);
  clients[1].ws.close();
  await clients[1].closed();
  await clients[2].waitForMessages(clients[2].messages.length + 1);
  expect(server.running).toBe(true);
  clients[2].ws.close();
  await clients[2].closed();
});
