import { pubTexts as published } from '../helpers/channels';
import { RawClient } from '../helpers/raw-client';
import { startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

const TOKEN = 'test-publish-token';

function post(
  server: ServerProcess,
  body: string,
  headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` },
): Promise<Response> {
  return fetch(`${server.httpUrl}/publish`, { method: 'POST', headers, body });
}

/** Opens a client and returns it with its id, from the hello frame. */
async function client(server: ServerProcess): Promise<{ ws: WsClient; id: number }> {
  const ws = await WsClient.open(server.url);
  await ws.workerPid();
  return { ws, id: Number(/client #(\d+)/.exec(ws.messages[0])?.[1]) };
}

describe('POST /publish', () => {
  let server: ServerProcess;
  const open: WsClient[] = [];

  beforeAll(async () => {
    // Slow demo pushes, so that the published messages are easy to tell apart.
    server = await startServer(
      ['--interval-min', '30', '--interval-max', '30', '--max-message-size', '200000'],
      {
        env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
      },
    );
  });
  afterEach(() => {
    for (const ws of open.splice(0)) ws.terminate();
  });
  afterAll(stopAllServers);

  test('a broadcast reaches every one of N clients exactly once', async () => {
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => client(server)));
    open.push(...clients.map((c) => c.ws));
    const response = await post(server, 'pub:to everyone');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ queued: 5 });
    await Promise.all(clients.map((c) => c.ws.waitForMessages(3)));
    const second = await post(server, JSON.stringify({ data: 'pub:json to everyone' }), {
      Authorization: `Bearer ${TOKEN}`,
      'Content-Type': 'application/json',
    });
    expect(await second.json()).toEqual({ queued: 5 });
    await Promise.all(clients.map((c) => c.ws.waitForMessages(4)));
    for (const c of clients)
      expect(published(c.ws)).toEqual(['pub:to everyone', 'pub:json to everyone']);
  });

  test('a message for one client arrives only there', async () => {
    const [a, b] = await Promise.all([client(server), client(server)]);
    open.push(a.ws, b.ws);
    const response = await post(
      server,
      JSON.stringify({ data: 'pub:just you', client: String(b.id) }),
      {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json',
      },
    );
    expect(await response.json()).toEqual({ queued: 1 });
    await b.ws.waitForMessages(3);
    // Then a broadcast, which a must see after nothing else.
    await post(server, 'pub:all');
    await Promise.all([a.ws.waitForMessages(3), b.ws.waitForMessages(4)]);
    expect(published(a.ws)).toEqual(['pub:all']);
    expect(published(b.ws)).toEqual(['pub:just you', 'pub:all']);
  });

  test.each([
    ['no Authorization', {}, 401],
    ['a wrong token', { Authorization: 'Bearer wrong-token-here' }, 401],
    [
      'Basic instead of Bearer',
      { Authorization: `Basic ${Buffer.from(TOKEN).toString('base64')}` },
      401,
    ],
    ['bad JSON', { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, 400],
  ])('%s → %i', async (_name, headers, status) => {
    const response = await post(server, '{not json', headers);
    expect(response.status).toBe(status);
    if (status === 401) expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await server.waitForLog(new RegExp(`${status} for 127\\.0\\.0\\.1:\\d+ POST /publish`));
  });

  test('a body over --max-message-size → 413', async () => {
    const response = await post(server, 'x'.repeat(200001));
    expect(response.status).toBe(413);
  });

  test('an unknown client id → 404; GET → 405', async () => {
    const response = await post(server, JSON.stringify({ data: 'x', client: 999999 }), {
      Authorization: `Bearer ${TOKEN}`,
      'Content-Type': 'application/json',
    });
    expect(response.status).toBe(404);
    expect((await fetch(`${server.httpUrl}/publish`)).status).toBe(405);
  });

  test('one stuck client does not hold up the others; it is closed with 1008', async () => {
    const stuckServer = await startServer(
      ['--interval-min', '30', '--interval-max', '30', '--max-buffered', '65536'],
      { env: { PUSH_WS_PUBLISH_TOKEN: TOKEN } },
    );
    const stuck = await RawClient.open(stuckServer.port);
    await stuck.nextFrame();
    stuck.socket.pause(); // never reads again
    const others = await Promise.all([1, 2, 3].map(() => client(stuckServer)));
    open.push(...others.map((c) => c.ws));
    const chunk = 'pub:' + 'z'.repeat(100000);
    const rounds = 60; // 6 MB: more than the kernel buffers a stuck reader
    for (let i = 0; i < rounds; i++) {
      const response = await post(stuckServer, chunk);
      expect(response.status).toBe(200);
    }
    await Promise.all(others.map((c) => c.ws.waitForMessages(2 + rounds, 20000)));
    for (const c of others) expect(published(c.ws)).toHaveLength(rounds);
    await stuckServer.waitForLog(
      /send buffer over --max-buffered \(\d+ bytes\), closing with 1008/,
      10000,
    );
    stuck.socket.resume();
    await stuck.tcpClosed(10000);
  }, 60000);

  test('--no-demo: no hello, no demo pushes, only what is published', async () => {
    const quiet = await startServer(
      ['--no-demo', '--interval-min', '0.05', '--interval-max', '0.1'],
      {
        env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
      },
    );
    const ws = await WsClient.open(quiet.url);
    open.push(ws);
    // The client is counted once its worker has it; then publish twice.
    await waitFor(
      async () =>
        ((await (await post(quiet, 'pub:first')).json()) as { queued: number }).queued === 1,
      'a queued publish',
    );
    await post(quiet, 'pub:second');
    await ws.waitForMessages(2);
    expect(ws.messages).toEqual(['pub:first', 'pub:second']);
  });

  test("a fresh client's first bytes after the 101 are the first publication: the wake writes none", async () => {
    const quiet = await startServer(['--no-demo'], { env: { PUSH_WS_PUBLISH_TOKEN: TOKEN } });
    const raw = await RawClient.open(quiet.port);
    try {
      // The worker has the client (and has run its wake record) once a publish is queued.
      await waitFor(
        async () =>
          ((await (await post(quiet, 'pub:first')).json()) as { queued: number }).queued === 1,
        'a queued publish',
      );
      await post(quiet, 'pub:second');
      const frames = [await raw.nextFrame(), await raw.nextFrame()];
      expect(frames.map((f) => [f.opcode, f.payload.toString()])).toEqual([
        [1, 'pub:first'],
        [1, 'pub:second'],
      ]);
      expect(raw.frames).toHaveLength(0);
    } finally {
      raw.destroy();
    }
  });

  test('without a token the endpoint does not exist (404)', async () => {
    const plain = await startServer([]);
    const response = await post(plain, 'x');
    expect(response.status).toBe(404);
  });
});
