import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

test('a Server-Sent Events client is listed with transport "sse"', async () => {
  const server = await startServer([...FAST, '--admin-token', ADMIN]);
  const abort = new AbortController();
  const stream = await fetch(`${server.httpUrl}/feed`, {
    headers: { Accept: 'text/event-stream' },
    signal: abort.signal,
  });
  try {
    expect(stream.status).toBe(200);
    const answer = await waitFor(async () => {
      const found = await presence(server, '/feed');
      return found.counts.clients === 1 && found;
    }, 'the SSE client listed');
    expect(answer.clients[0]).toMatchObject({ transport: 'sse' });
  } finally {
    abort.abort();
    await stream.body?.cancel().catch(() => undefined);
  }
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

  test('a channel whose last clients were on a SIGKILLed instance is vacated once, by a survivor, within ttl + grace + ttl/3', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pushws-vacate-'));
    try {
      const script = path.join(dir, 'record.sh');
      writeFileSync(
        script,
        '#!/bin/sh\nprintf \'%s %s %s\\n\' "$PUSH_WS_EVENT" "$PUSH_WS_CHANNEL" "$PUSH_WS_INSTANCE" >> "$1"\n',
      );
      chmodSync(script, 0o755);
      const file = path.join(dir, 'channel.log');
      const events = (): string[][] =>
        existsSync(file)
          ? readFileSync(file, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((line) => line.split(' '))
          : [];
      const ttl = 3;
      const grace = 1;
      const start = (): Promise<ServerProcess> =>
        startServer([
          ...FAST,
          '--redis',
          redis.url,
          '--admin-token',
          ADMIN,
          '--presence-ttl',
          String(ttl),
          '--vacate-grace',
          String(grace),
          '--on-channel',
          `${script} ${file}`,
        ]);
      // A alone has /only-a; A and B share /both; C has no client (it sweeps too).
      const [a, b, c] = [await start(), await start(), await start()];
      await client(a, '/only-a');
      await client(a, '/both');
      const onB = await client(b, '/both');
      const of = (channel: string, event: string): string[][] =>
        events().filter(([e, ch]) => e === event && ch === channel);
      await waitFor(
        () => of('/only-a', 'occupied').length === 1 && of('/both', 'occupied').length === 1,
        'both channels occupied',
      );
      const instanceOf = async (server: ServerProcess): Promise<string> =>
        (
          (await (
            await fetch(`${server.httpUrl}/status`, {
              headers: { Authorization: `Bearer ${ADMIN}` },
            })
          ).json()) as { instance: string }
        ).instance;
      const survivors = [await instanceOf(b), await instanceOf(c)];

      process.kill(a.pid, 'SIGKILL');
      await a.exited;
      const killedAt = Date.now();
      // The documented bound (ttl + grace + one heartbeat), with room for a loaded box.
      const bound = (ttl + grace + ttl / 3) * 1000;
      await waitFor(() => of('/only-a', 'vacated').length > 0, 'the vacate', bound + 10_000);
      console.log(`/only-a vacated ${Date.now() - killedAt} ms after A's SIGKILL (bound ${bound})`);
      const [vacated] = of('/only-a', 'vacated');
      expect(survivors).toContain(vacated[2]);

      // /both still has B's client: no vacate. Then it leaves: one vacate, from B's own
      // check after the grace, which comes after the survivors' later sweeps of /only-a.
      expect(of('/both', 'vacated')).toEqual([]);
      onB.ws.close(1000);
      await waitFor(() => of('/both', 'vacated').length > 0, "B's client's vacate");
      expect(of('/both', 'vacated')).toEqual([['vacated', '/both', survivors[0]]]);
      expect(of('/only-a', 'vacated')).toHaveLength(1);
      expect(of('/only-a', 'occupied')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

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
