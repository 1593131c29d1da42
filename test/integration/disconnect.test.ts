import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { groupAlive, signalGroup } from '../../src/shared/process-group';
import { isAlive } from '../helpers/proc';
import { startRedis, stopAllRedis } from '../helpers/redis';
import { startServer, statusOf, stopAllServers, type ServerProcess } from '../helpers/server';
import { hs256Issuer, type Issuer } from '../helpers/tokens';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/**
 * POST /disconnect and POST /publish {"user"} on real servers: close code 4002, the
 * workers and commands gone (/proc), and across two instances through a real Redis.
 */

const TOKEN = 'disconnect-test-token';
/** A command with a child in its group; its first line is its own pid. */
const WITH_CHILD = `sh -c 'sleep 600 & echo $$; wait'`;

interface StatusClient {
  id: number;
  global_id: string;
  pid: number;
  user?: string;
}

const clientsOf = async (server: ServerProcess): Promise<StatusClient[]> =>
  (await statusOf<{ clients: StatusClient[] }>(server)).clients;

function post(
  server: ServerProcess,
  route: '/disconnect' | '/publish',
  body: unknown,
  token = TOKEN,
): Promise<Response> {
  return fetch(`${server.httpUrl}${route}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const open: WsClient[] = [];
const groups: number[] = [];
async function connect(server: ServerProcess, target = '/'): Promise<WsClient> {
  const client = await WsClient.open(`${server.url.replace(/\/$/, '')}${target}`);
  open.push(client);
  return client;
}

afterEach(async () => {
  for (const client of open.splice(0)) client.terminate();
  for (const pgid of groups.splice(0)) signalGroup(pgid, 'SIGKILL');
  await stopAllServers();
});

describe('POST /disconnect on one instance', () => {
  test('{"client"} closes it with 4002 "disconnected"; its worker and command (and child) are gone', async () => {
    const server = await startServer(['--publish-token', TOKEN, '--exec', WITH_CHILD]);
    const client = await connect(server);
    const other = await connect(server);
    await client.waitForMessages(1);
    await other.waitForMessages(1);
    const commandPid = Number(client.messages[0]);
    groups.push(commandPid, Number(other.messages[0]));
    const [entry] = await waitFor(async () => {
      const all = await clientsOf(server);
      return all.length === 2 && all.sort((a, b) => a.id - b.id);
    }, 'both clients in /status');
    const answer = await post(server, '/disconnect', { client: String(entry.id) });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ client: String(entry.id), disconnected: 1 });
    expect(await client.closed()).toBe(4002);
    expect(client.closeReason).toBe('disconnected');
    await waitFor(
      () => !isAlive(entry.pid) && !groupAlive(commandPid),
      'the worker and its command group to be gone',
    );
    // The other client is untouched.
    expect(other.ws.readyState).toBe(other.ws.OPEN);
    expect((await clientsOf(server)).map((c) => c.id)).not.toContain(entry.id);
    await server.waitForLog(new RegExp(`Client #${entry.id} disconnected by POST /disconnect`));
  });

  test('POST /disconnect answers 401 without the token, 400 for a bad body, 404 for no such client, 405 for GET', async () => {
    const server = await startServer(['--publish-token', TOKEN, '--no-demo']);
    expect((await post(server, '/disconnect', { client: '1' }, 'wrong-token-x')).status).toBe(401);
    for (const bad of [
      'not json',
      '[]',
      '{}',
      '{"client":"1","user":"2"}',
      '{"client":"x y"}',
      '{"user":""}',
    ]) {
      const answer = await post(server, '/disconnect', bad);
      expect([bad, answer.status]).toEqual([bad, 400]);
    }
    expect((await post(server, '/disconnect', { client: '999' })).status).toBe(404);
    expect((await fetch(`${server.httpUrl}/disconnect`)).status).toBe(405);
  });

  test('without --publish-token there is no POST /disconnect (404)', async () => {
    const server = await startServer(['--no-demo']);
    expect((await post(server, '/disconnect', { client: '1' })).status).toBe(404);
  });
});

describe('per user, with verified identities', () => {
  let dir: string;
  let issuer: Issuer;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'push-ws-disconnect-'));
    issuer = hs256Issuer(dir);
  });
  afterAll(async () => {
    await stopAllRedis();
    rmSync(dir, { recursive: true, force: true });
  });

  const userFlags = (): string[] => [
    '--publish-token',
    TOKEN,
    '--no-demo',
    '--auth-secret-file',
    issuer.file,
  ];

  async function connectAs(server: ServerProcess, user: string): Promise<WsClient> {
    const token = await issuer.sign({ sub: user });
    return connect(server, `/?token=${token}`);
  }

  test('one instance: POST /publish {"user"} reaches that user’s connections only; /disconnect {"user"} closes them', async () => {
    const server = await startServer(userFlags());
    const [a, b, c] = [
      await connectAs(server, '42'),
      await connectAs(server, '42'),
      await connectAs(server, '7'),
    ];
    await waitFor(async () => (await clientsOf(server)).length === 3, 'three clients');
    const published = await post(server, '/publish', { user: '42', data: 'for 42' });
    expect(published.status).toBe(200);
    expect(await published.json()).toEqual({ user: '42', queued: 2 });
    await a.until((m) => m.includes('for 42'), 'a gets it');
    await b.until((m) => m.includes('for 42'), 'b gets it');
    const workers = (await clientsOf(server)).filter((entry) => entry.user === '42');
    const answer = await post(server, '/disconnect', { user: '42' });
    expect(await answer.json()).toEqual({ user: '42', disconnected: 2 });
    expect([await a.closed(), await b.closed()]).toEqual([4002, 4002]);
    await waitFor(() => workers.every((entry) => !isAlive(entry.pid)), 'their workers gone');
    expect(c.messages).toEqual([]);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    expect((await post(server, '/disconnect', { user: 'nobody' })).status).toBe(200);
  });

  test('two instances through Redis: a user’s publish and disconnect reach every instance; a client id of the other instance too', async () => {
    const redis = await startRedis();
    const one = await startServer([...userFlags(), '--redis', redis.url]);
    const two = await startServer([...userFlags(), '--redis', redis.url]);
    const onOne = await connectAs(one, '42');
    const onTwo = await connectAs(two, '42');
    const seven = await connectAs(two, '7');
    await waitFor(async () => (await clientsOf(two)).length === 2, 'two clients on two');
    const published = await post(one, '/publish', { user: '42', data: 'everywhere' });
    expect(published.status).toBe(200);
    expect(await published.json()).toMatchObject({ user: '42', instance_clients: 1 });
    await onOne.until((m) => m.includes('everywhere'), 'the client on one');
    await onTwo.until((m) => m.includes('everywhere'), 'the client on two');
    const workers = [
      ...(await clientsOf(one)).filter((entry) => entry.user === '42'),
      ...(await clientsOf(two)).filter((entry) => entry.user === '42'),
    ];
    expect(workers).toHaveLength(2);
    const answer = await post(one, '/disconnect', { user: '42' });
    expect(await answer.json()).toMatchObject({ user: '42', disconnected: 1 });
    expect([await onOne.closed(), await onTwo.closed()]).toEqual([4002, 4002]);
    await waitFor(() => workers.every((entry) => !isAlive(entry.pid)), 'both workers gone');
    // A client id names its instance: the other instance closes it.
    const [sevenEntry] = await clientsOf(two);
    const byId = await post(one, '/disconnect', { client: sevenEntry.global_id });
    expect(byId.status).toBe(202);
    expect(await seven.closed()).toBe(4002);
    await waitFor(() => !isAlive(sevenEntry.pid), 'its worker gone');
    expect(seven.messages).toEqual([]);
  }, 60000);

  test('Redis down: POST /disconnect {"user"} is 503 with Retry-After, and closes no one', async () => {
    const redis = await startRedis();
    const server = await startServer([...userFlags(), '--redis', redis.url]);
    const client = await connectAs(server, '42');
    await waitFor(async () => (await clientsOf(server)).length === 1, 'the client');
    await redis.kill();
    await waitFor(
      async () =>
        (await statusOf<{ backplane: { state: string } }>(server)).backplane.state === 'down',
      'the backplane down',
    );
    const answer = await post(server, '/disconnect', { user: '42' });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect((await post(server, '/publish', { user: '42', data: 'x' })).status).toBe(503);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  }, 30000);
});
