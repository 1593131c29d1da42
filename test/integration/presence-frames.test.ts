import { openOn } from '../helpers/channels';
import { rawUpgrade } from '../helpers/raw-http';
import { startRedis, stopAllRedis } from '../helpers/redis';
import { startServer, stopAllServers, statusOf, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { OpenClients, type WsClient } from '../helpers/ws-client';

interface PresenceFrame {
  type: 'join' | 'leave';
  channel: string;
  client: string;
  user: string | null;
  offset?: number;
}

const opened = new OpenClients();
const on = async (server: ServerProcess, path: string): Promise<WsClient> =>
  opened.track(await openOn(server, path));

/** The join and leave frames a client got, in order. */
function presenceFrames(client: WsClient): PresenceFrame[] {
  return client.messages
    .map((message) => JSON.parse(message) as PresenceFrame)
    .filter((frame) => frame.type === 'join' || frame.type === 'leave');
}

const seen = (client: WsClient, count: number, what: string): Promise<PresenceFrame[]> =>
  waitFor(() => presenceFrames(client).length >= count && presenceFrames(client), what);

afterEach(async () => {
  opened.terminateAll();
  await stopAllServers();
});
afterAll(async () => {
  await stopAllRedis();
});

describe('join and leave frames (?presence=1)', () => {
  test('a JSON client that asked gets a join per client of its channel and a leave per client gone', async () => {
    const server = await startServer(['--no-demo']);
    const watcher = await on(server, '/room?format=json&presence=1');
    const [own] = await seen(watcher, 1, 'its own join');
    expect(own).toEqual({ type: 'join', channel: '/room', client: own.client, user: null });
    const quiet = await on(server, '/room?format=json');
    await on(server, '/elsewhere?format=json&presence=1');
    const [, other] = await seen(watcher, 2, "the other client's join");
    expect(other).toMatchObject({ type: 'join', channel: '/room' });
    expect(other.client).not.toBe(own.client);
    quiet.ws.close(1000);
    const frames = await seen(watcher, 3, 'the leave');
    expect(frames[2]).toEqual({
      type: 'leave',
      channel: '/room',
      client: other.client,
      user: null,
    });
    // No offset: they are not publications, and a client that did not ask gets none.
    expect(frames.every((frame) => frame.offset === undefined)).toBe(true);
    expect(presenceFrames(quiet)).toEqual([]);
    const status = await statusOf<{ clients: unknown[] }>(server);
    expect(status.clients).toHaveLength(2);
  });

  test('presence=1 without format=json is refused with 400 before the handshake', async () => {
    const server = await startServer(['--no-demo']);
    for (const target of ['/room?presence=1', '/room?format=text&presence=1']) {
      const answer = await rawUpgrade(server.port, target);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatch(/presence=1 needs format=json/);
    }
    expect((await rawUpgrade(server.port, '/room?format=json&presence=yes')).status).toBe(400);
  });

  test('through Redis, a client on another instance is seen joining and, SIGKILLed, leaving', async () => {
    const redis = await startRedis();
    const start = (): Promise<ServerProcess> => startServer(['--no-demo', '--redis', redis.url]);
    const [a, b] = [await start(), await start()];
    for (const server of [a, b]) {
      await waitFor(
        async () =>
          (await statusOf<{ backplane: { state: string } }>(server)).backplane.state === 'up',
        'the backplane',
      );
    }
    const watcher = await on(a, '/room?format=json&presence=1');
    await seen(watcher, 1, 'its own join');
    await on(b, '/room?format=json');
    const [, remote] = await seen(watcher, 2, 'the join on the other instance');
    const onB = await statusOf<{ instance: string; clients: { pid: number }[] }>(b);
    expect(remote.client.startsWith(`${onB.instance}-`)).toBe(true);
    process.kill(onB.clients[0].pid, 'SIGKILL');
    const frames = await seen(watcher, 3, 'the leave on the other instance');
    expect(frames[2]).toMatchObject({ type: 'leave', client: remote.client });
  });
});
