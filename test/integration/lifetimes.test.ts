import { FAST, startServer, stopAllServers } from '../helpers/server';
import { WsClient } from '../helpers/ws-client';

/**
 * --idle-timeout and --max-lifetime on a real server: the worker closes its client
 * with 4004 "idle timeout" or 4003 "max lifetime"; keepalive pings do not keep an idle
 * client, data messages do.
 */

afterAll(stopAllServers);

/** How long a client stayed before the server closed it, with the code and reason. */
async function closedAfter(client: WsClient, openedAt: number): Promise<[number, number, string]> {
  const code = await client.closed();
  return [Date.now() - openedAt, code, client.closeReason ?? ''];
}

describe('--idle-timeout', () => {
  test('an idle client is closed with 4004 at the timeout, pings do not count', async () => {
    // Pings every 0.2 s, answered by the client: keepalive, not data.
    const server = await startServer([
      '--no-demo',
      '--idle-timeout',
      '1',
      '--ping-interval',
      '0.2',
    ]);
    const openedAt = Date.now();
    const idle = await WsClient.open(server.url);
    const [after, code, reason] = await closedAfter(idle, openedAt);
    expect([code, reason]).toEqual([4004, 'idle timeout']);
    expect(after).toBeGreaterThanOrEqual(950);
    expect(after).toBeLessThan(8000);
    await server.waitForLog(/no data message for --idle-timeout 1 s, closing with 4004/);
  });

  test('a chatty client is not closed while it talks, then is once it stops', async () => {
    const server = await startServer(['--no-demo', '--idle-timeout', '1']);
    const chatty = await WsClient.open(server.url);
    const started = Date.now();
    // 3 s of a message every 200 ms: three idle timeouts' worth, and it stays.
    while (Date.now() - started < 3000) {
      chatty.ws.send('still here');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(chatty.closeCode).toBeUndefined();
    }
    const stoppedAt = Date.now();
    const [after, code] = await closedAfter(chatty, stoppedAt);
    expect(code).toBe(4004);
    expect(after).toBeGreaterThanOrEqual(700);
  });

  test('pushes to the client are data too: the demo keeps it', async () => {
    const server = await startServer([...FAST, '--idle-timeout', '0.5']);
    const client = await WsClient.open(server.url);
    await client.waitForMessages(30);
    expect(client.closeCode).toBeUndefined();
    client.terminate();
  });
});

describe('--max-lifetime', () => {
  test('a long client is closed with 4003 after the lifetime, within its jitter', async () => {
    // The demo pushes keep it busy: only its lifetime ends it.
    const server = await startServer([...FAST, '--max-lifetime', '1', '--idle-timeout', '30']);
    const openedAt = Date.now();
    const long = await WsClient.open(server.url);
    const [after, code, reason] = await closedAfter(long, openedAt);
    expect([code, reason]).toEqual([4003, 'max lifetime']);
    expect(after).toBeGreaterThanOrEqual(950);
    expect(after).toBeLessThan(8000); // 1.1 s with the jitter, plus a loaded box's slack
    expect(long.messages.length).toBeGreaterThan(3);
    await server.waitForLog(/--max-lifetime 1 s, closing with 4003/);
  });
});
