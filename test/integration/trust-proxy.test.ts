import { commandLine } from '../helpers/proc';
import { RawClient } from '../helpers/raw-client';
import { ServerProcess, startServer, stopAllServers, track, statusOf } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

interface Status {
  clients: { id: number; pid: number; remote: string }[];
  limits: { trust_proxy: string[] };
}

const status = (server: ServerProcess): Promise<Status> => statusOf<Status>(server);

/** A command that tells the client what the server told it, then echoes. */
const TELL = `sh -c 'echo "addr=$REMOTE_ADDR port=$REMOTE_PORT https=$HTTPS"; exec cat'`;

/** Headers a client could forge: a proxy chain and a TLS scheme. */
const FORGED = { 'X-Forwarded-For': '6.6.6.6, 203.0.113.7', 'X-Forwarded-Proto': 'https' };

/** Opens a client with the forged headers; resolves with its first line and its /status entry. */
async function connectForged(
  server: ServerProcess,
): Promise<{ client: WsClient; line: string; entry: Status['clients'][number] }> {
  const client = await WsClient.open(server.url, undefined, { headers: FORGED });
  await client.waitForMessages(1);
  const entry = await waitFor(
    async () => (await status(server)).clients[0],
    'the client in /status',
  );
  return { client, line: client.messages[0], entry };
}

function localPort(client: WsClient): number {
  return (client.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
}

describe('--trust-proxy', () => {
  const clients: WsClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await stopAllServers();
  });

  test('from a trusted peer, X-Forwarded-For and -Proto name the client: --exec environment, /status, title, log', async () => {
    const server = await startServer(['--trust-proxy', '127.0.0.1', '--exec', TELL, '--verbose']);
    const { client, line, entry } = await connectForged(server);
    clients.push(client);
    // The right-most address that is not a trusted proxy: 6.6.6.6 was written by the client.
    expect(line).toBe('addr=203.0.113.7 port= https=on');
    expect(entry.remote).toBe('203.0.113.7');
    await waitFor(
      () => commandLine(entry.pid) === `push-websocket worker #${entry.id} 203.0.113.7`,
      'the worker title to name the forwarded client',
    );
    await server.waitForLog(
      /Handshake from 203\.0\.113\.7 \(via 127\.0\.0\.1:\d+, https\): GET \//,
    );
  });

  test('from any other peer the headers are ignored', async () => {
    const server = await startServer(['--trust-proxy', '10.0.0.1', '--exec', TELL]);
    const { client, line, entry } = await connectForged(server);
    clients.push(client);
    const port = localPort(client);
    expect(line).toBe(`addr=127.0.0.1 port=${port} https=`);
    expect(entry.remote).toBe(`127.0.0.1:${port}`);
    await waitFor(
      () => commandLine(entry.pid) === `push-websocket worker #${entry.id} 127.0.0.1:${port}`,
      'the worker title to name the peer',
    );
  });

  test('repeatable, comma-separated, from the environment too; shown in /status limits', async () => {
    const server = await startServer([
      '--trust-proxy',
      '10.0.0.1,::1',
      '--trust-proxy',
      'fd00::/8',
    ]);
    expect((await status(server)).limits.trust_proxy).toEqual(['10.0.0.1', '::1', 'fd00::/8']);
    const fromEnv = await startServer([], {
      env: { PUSH_WS_TRUST_PROXY: '127.0.0.0/8, ::ffff:10.1.2.3' },
    });
    expect((await status(fromEnv)).limits.trust_proxy).toEqual(['127.0.0.0/8', '10.1.2.3']);
  });

  test.each([
    ['not an address', ['--trust-proxy', 'proxy.example'], /"proxy\.example" is not an IP address/],
    ['a bad octet', ['--trust-proxy', '127.0.0.1,10.0.0.300'], /"10\.0\.0\.300"/],
    ['a prefix too long', ['--trust-proxy', '10.0.0.0/33'], /prefix over \/32/],
    ['an empty entry', ['--trust-proxy', '10.0.0.1,'], /empty entry/],
  ])('%s: a one-line usage error, exit 2', async (_name, args, pattern) => {
    const server = track(ServerProcess.ours(['--port', '0', ...args]));
    expect((await server.exited).code).toBe(2);
    const lines = server.output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^push-websocket: --trust-proxy: /);
    expect(lines[0]).toMatch(pattern);
  });

  test('--same-origin behind a trusted TLS proxy: a Host without a port means 443', async () => {
    const server = await startServer(['--same-origin', '--trust-proxy', '127.0.0.1']);
    const answer = async (headers: Record<string, string>): Promise<number> => {
      const { status, client } = await RawClient.upgrade(server.port, {
        Host: 'push.example',
        ...headers,
      });
      client.destroy();
      return status;
    };
    const https = { Origin: 'https://push.example', 'X-Forwarded-Proto': 'https' };
    expect(await answer(https)).toBe(101);
    expect(await answer({ Origin: 'https://push.example' })).toBe(403); // plain: port 80
    expect(await answer({ Origin: 'http://push.example' })).toBe(101);
    await server.stop();
  });
});
