import { startRedis, stopAllRedis, type RedisProcess } from '../helpers/redis';
import { FAST, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

interface PresenceAnswer {
  channel: string;
  scope: string;
  counts: { clients: number; instances: number; by_instance: Record<string, number> };
  clients: { client: string; user: string | null; instance: string; since: string }[];
}

const ADMIN = 'admin-token-for-presence';
const open: WsClient[] = [];

async function client(server: ServerProcess, path: string): Promise<WsClient> {
  const opened = await WsClient.open(`ws://${server.host}:${server.port}${path}`);
  open.push(opened);
  await opened.waitForMessages(1);
  return opened;
}

async function presence(server: ServerProcess, channel: string): Promise<PresenceAnswer> {
  const response = await fetch(`${server.httpUrl}/presence${channel}`, {
    headers: { Authorization: `Bearer ${ADMIN}` },
  });
  if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
  return (await response.json()) as PresenceAnswer;
}

afterEach(async () => {
  for (const opened of open.splice(0)) opened.terminate();
  await stopAllServers();
});
afterAll(async () => {
  await stopAllRedis();
});

describe('GET /presence on one instance', () => {
  test('lists the channel’s clients with counts; a client that left is gone', async () => {
    const server = await startServer([...FAST, '--admin-token', ADMIN]);
    const refused = await fetch(`${server.httpUrl}/presence/news`);
    expect(refused.status).toBe(401);
    const [a, b] = [await client(server, '/news'), await client(server, '/news')];
    await client(server, '/sport');
    const answer = await presence(server, '/news');
    expect(answer).toMatchObject({ channel: '/news', scope: 'instance' });
    expect(answer.counts).toMatchObject({ clients: 2, instances: 1 });
    expect(answer.clients.map((entry) => entry.client)).toEqual([
      expect.stringMatching(/-1$/),
      expect.stringMatching(/-2$/),
    ]);
    expect(answer.clients[0]).toMatchObject({ user: null, transport: 'websocket' });
    a.ws.close(1000);
    await a.closed();
    await waitFor(async () => (await presence(server, '/news')).counts.clients === 1, 'a gone');
    expect((await presence(server, '/news')).clients[0].client).toMatch(/-2$/);
    b.terminate();
    await waitFor(async () => (await presence(server, '/news')).counts.clients === 0, 'b gone');
    expect((await presence(server, '/')).clients).toEqual([]);
    const bad = await fetch(`${server.httpUrl}/presence/a%00b`, {
      headers: { Authorization: `Bearer ${ADMIN}` },
    });
    expect(bad.status).toBe(400);
  });
});

describe('GET /presence across instances through Redis', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });

  const instance = (): Promise<ServerProcess> =>
    startServer([...FAST, '--redis', redis.url, '--admin-token', ADMIN, '--presence-ttl', '3']);

  test('each instance lists both instances’ clients; a SIGKILLed instance’s are gone within the TTL', async () => {
    const [a, b] = [await instance(), await instance()];
    await client(a, '/room');
    await client(b, '/room');
    await client(b, '/room');
    for (const server of [a, b]) {
      await waitFor(
        async () => (await presence(server, '/room').catch(() => undefined))?.counts.clients === 3,
        'three clients on two instances',
      );
    }
    const both = await presence(a, '/room');
    expect(both.scope).toBe('all instances');
    expect(both.counts.instances).toBe(2);
    expect(Object.values(both.counts.by_instance).sort()).toEqual([1, 2]);

    process.kill(b.pid, 'SIGKILL');
    await b.exited;
    const killedAt = Date.now();
    await waitFor(
      async () => (await presence(a, '/room')).counts.clients === 1,
      "B's clients gone",
      // The documented bound (--presence-ttl) with room for a loaded machine.
      3000 + 5000,
    );
    console.log(`B's clients left /presence ${Date.now() - killedAt} ms after its SIGKILL`);
    expect((await presence(a, '/room')).counts.instances).toBe(1);
  });

  test('with Redis down, GET /presence is 503 with a reason, never a stale list', async () => {
    const own = await startRedis();
    const server = await startServer([...FAST, '--redis', own.url, '--admin-token', ADMIN]);
    await client(server, '/x');
    await waitFor(
      async () => (await presence(server, '/x').catch(() => undefined))?.counts.clients === 1,
      'the client listed',
    );
    await own.kill();
    const answer = await waitFor(async () => {
      const response = await fetch(`${server.httpUrl}/presence/x`, {
        headers: { Authorization: `Bearer ${ADMIN}` },
      });
      return response.status === 503 && response;
    }, 'a 503');
    expect(answer.headers.get('retry-after')).toBe('2');
    expect(await answer.text()).toMatch(/^Presence unavailable: Redis at redis:\/\/127\.0\.0\.1/);
  });
});
