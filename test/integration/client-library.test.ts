import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { PushClient, type PushClientEvents } from '../../src/client';
import { published, TOKEN } from '../helpers/channels';
import { procStat } from '../helpers/proc';
import { NodeEventSource } from '../helpers/sse-client';
import { hs256Issuer } from '../helpers/tokens';
import { FAST, ROOT, ServerProcess, startServer, stopAllServers, track } from '../helpers/server';
import { Conditions, HANG_BOUND_MS, waitFor } from '../helpers/wait';

/**
 * The client library in Node, `ws` as its WebSocket, against the real server: what an
 * app sees when its client's worker is killed, the server restarts, or refuses it.
 */
type Recorded = { [K in keyof PushClientEvents]: [K, PushClientEvents[K]] }[keyof PushClientEvents];

class Recorder {
  readonly events: Recorded[] = [];
  private readonly conditions = new Conditions();

  constructor(readonly client: PushClient) {
    const types: (keyof PushClientEvents)[] = [
      'state',
      'push',
      'direct',
      'pub',
      'duplicate',
      'position',
      'recovery',
      'gap',
      'message',
      'error',
    ];
    for (const type of types) {
      client.on(type, (event) => {
        this.events.push([type, event] as Recorded);
        this.conditions.wake();
      });
    }
  }

  of<K extends keyof PushClientEvents>(type: K): PushClientEvents[K][] {
    return this.events.filter((e) => e[0] === type).map((e) => e[1] as PushClientEvents[K]);
  }

  until(condition: () => boolean, what: string, timeoutMs = HANG_BOUND_MS): Promise<void> {
    return this.conditions.until(
      condition,
      what,
      timeoutMs,
      () => `; events: ${JSON.stringify(this.events.slice(-8))}`,
    );
  }

  /** The worker PID of the latest hello. */
  pid(): number | undefined {
    const hellos = this.of('push')
      .map((push) => /^Connected to worker PID (\d+)/.exec(push.data))
      .filter((match) => match !== null);
    const last = hellos[hellos.length - 1];
    return last ? Number(last[1]) : undefined;
  }
}

const env = { PUSH_WS_PUBLISH_TOKEN: TOKEN };
const FLAGS = [...FAST, '--spare-workers', '1'];
const clients: PushClient[] = [];

function clientOf(server: ServerProcess, channel: string): Recorder {
  const client = new PushClient(`ws://${server.host}:${server.port}${channel}`, { WebSocket });
  clients.push(client);
  return new Recorder(client);
}

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(stopAllServers);

describe('the client library against the real server', () => {
  test('publications of its channel in order, once each, across a killed worker', async () => {
    const server = await startServer(FLAGS, { env });
    const news = clientOf(server, '/news');
    news.client.connect();
    await news.until(
      () => news.of('position').length === 1 && news.pid() !== undefined,
      'the position and the hello',
    );
    await published(server, { channel: '/news', data: 'one' });
    await published(server, { channel: '/other', data: 'not for it' });
    await published(server, { data: 'everyone' });
    await news.until(() => news.of('pub').length === 2, 'two publications');
    expect(news.of('pub').map((p) => [p.channel, p.offset, p.data])).toEqual([
      ['/news', 1, 'one'],
      ['*', expect.any(Number), 'everyone'],
    ]);

    const pid = news.pid() as number;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    for (const data of ['two', 'three', 'four'])
      await published(server, { channel: '/news', data });
    await news.until(() => news.of('pub').length === 5, 'the three missed publications');
    console.log(
      `worker SIGKILLed -> the 3 missed publications delivered: ${Date.now() - killedAt} ms`,
    );
    expect(news.of('recovery')).toEqual([
      {
        recovered: true,
        count: 3,
        reason: undefined,
        position: { epoch: expect.any(String), offset: 1 },
      },
    ]);
    expect(
      news
        .of('pub')
        .slice(2)
        .map((p) => [p.offset, p.data]),
    ).toEqual([
      [2, 'two'],
      [3, 'three'],
      [4, 'four'],
    ]);
    const dropped = news.of('state').find((s) => s.state === 'reconnecting');
    expect(dropped).toMatchObject({ code: 1006, wasOpen: true });
    expect(news.pid()).not.toBe(pid);
    expect(news.client.position).toEqual({ epoch: expect.any(String), offset: 4 });
    expect(news.of('gap')).toEqual([]);
  }, 60000);

  test('the server restarted (history lost): recovery says why, and it goes on in the new stream', async () => {
    const first = await startServer(FLAGS, { env });
    const live = clientOf(first, '/live');
    live.client.connect();
    await live.until(() => live.of('position').length === 1, 'the position');
    await published(first, { channel: '/live', data: 'before' });
    await live.until(() => live.of('pub').length === 1, 'the first publication');
    await first.stop();
    const second = await track(
      ServerProcess.ours(['--port', String(first.port), ...FLAGS], {
        env: { ...process.env, ...env },
      }),
    ).ready(HANG_BOUND_MS);
    await live.until(
      () => live.of('recovery').length === 1,
      'the recovery frame',
      HANG_BOUND_MS + 30000,
    );
    expect(live.of('recovery')[0]).toMatchObject({ recovered: false, reason: 'epoch changed' });
    const before = live.of('pub')[0];
    // Not recovered: the client stands where the new stream is, so what follows follows on.
    expect(live.client.position).toEqual({ epoch: expect.any(String), offset: 0 });
    expect(live.client.position?.epoch).not.toBe(before.epoch);
    await published(second, { channel: '/live', data: 'after' });
    await live.until(() => live.of('pub').length === 2, 'a publication of the new stream');
    expect(live.of('pub')[1]).toMatchObject({ offset: 1, data: 'after', restarted: false });
    expect(live.of('gap')).toEqual([]);
  }, 90000);

  test('quit() ends its worker, and it does not come back', async () => {
    const server = await startServer(FLAGS, { env });
    const one = clientOf(server, '/');
    one.client.connect();
    await one.until(() => one.pid() !== undefined, 'the hello');
    const pid = one.pid() as number;
    one.client.quit();
    await one.until(() => one.client.state === 'closed', 'closed');
    expect(one.of('state').at(-1)).toMatchObject({ state: 'closed', code: 1000 });
    await waitFor(() => procStat(pid) === undefined, `worker ${pid} to exit`);
    await server.waitForLog(new RegExp(`sent 'quit' \\(pid ${pid}\\)`));
    expect(one.of('state').filter((s) => s.state === 'connecting')).toHaveLength(1);
  }, 60000);

  test('POST /disconnect (4002): closed for good, no reconnect', async () => {
    const server = await startServer(FLAGS, { env });
    const one = clientOf(server, '/');
    one.client.connect();
    await one.until(() => one.pid() !== undefined, 'the hello');
    const hello = one.of('push')[0].data;
    const id = /client #(\d+)$/.exec(hello)?.[1];
    const answer = await fetch(`${server.httpUrl}/disconnect`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ client: id }),
    });
    expect(answer.status).toBe(200);
    await one.until(() => one.client.state === 'closed', 'closed');
    expect(one.of('state').at(-1)).toMatchObject({ code: 4002, reason: 'disconnected' });
    expect(one.of('state').filter((s) => s.state === 'reconnecting')).toEqual([]);
    // Nothing left to run: no timer, no socket (jest would see an open handle).
    await waitFor(() => procStat(one.pid() as number) === undefined, 'the worker to exit');
    expect(one.of('state').filter((s) => s.state === 'connecting')).toHaveLength(1);
  }, 60000);

  test('turned away while workers fail to start: it waits for the Retry-After of /healthz', async () => {
    const server = await startServer(['--spare-workers', '1'], {
      env: { PUSH_WEBSOCKET_TEST_WORKER_ENTRY: path.join(ROOT, 'test/fixtures/broken-worker.js') },
    });
    await server.waitForLog(/failed to start: exited before it was ready/);
    const refused = clientOf(server, '/');
    refused.client.connect();
    await refused.until(
      () => refused.of('state').some((s) => s.retryAfter === true),
      'a wait set by Retry-After',
    );
    const waited = refused.of('state').find((s) => s.retryAfter === true);
    expect(waited).toMatchObject({ state: 'reconnecting', wasOpen: false });
    expect(waited?.delayMs).toBeGreaterThanOrEqual(1000);
    refused.client.close();
    expect(refused.client.state).toBe('closed');
  }, 60000);

  test("a refused event stream: it comes back no sooner than the stream's retry, then is served", async () => {
    const server = await startServer(['--no-demo', '--max-clients', '1', ...FLAGS], { env });
    const occupant = clientOf(server, '/full');
    occupant.client.connect();
    await occupant.until(() => occupant.of('position').length === 1, 'the occupant served');
    const client = new PushClient(`ws://${server.host}:${server.port}/full`, {
      only: 'sse',
      EventSource: NodeEventSource,
      random: () => 0, // no spread: the wait is the retry itself
    });
    clients.push(client);
    const stream = new Recorder(client);
    const at = new Map<string, number[]>();
    client.on('state', ({ state }) => at.set(state, [...(at.get(state) ?? []), Date.now()]));
    client.connect();
    await stream.until(
      () => stream.of('state').some((s) => s.state === 'reconnecting'),
      'the refusal',
    );
    const [waiting] = stream.of('state').filter((s) => s.state === 'reconnecting');
    // Server full: Retry-After 5, a stream with retry: 5000 (docs/sse.md).
    expect(waiting).toMatchObject({
      wasOpen: false,
      reason: 'refused: 503 SERVER_FULL',
      delayMs: 5000,
      retryAfter: true,
    });
    occupant.client.close();
    await stream.until(
      () => stream.of('state').some((s) => s.state === 'open'),
      'served once the slot is free',
    );
    const [refusedAt] = at.get('reconnecting') ?? [];
    const [, again] = at.get('connecting') ?? [];
    console.log(`refused stream: came back ${again - refusedAt} ms after its refusal (retry 5000)`);
    expect(again - refusedAt).toBeGreaterThanOrEqual(5000 - 1);
    expect(stream.of('state').filter((s) => s.state === 'connecting')).toHaveLength(2);
    expect(stream.of('state').find((s) => s.state === 'open')).toMatchObject({ transport: 'sse' });
  }, 60000);

  test('a token that expires: 4001, then back with a fresh token and its position', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'push-ws-client-token-'));
    try {
      const issuer = hs256Issuer(dir);
      const server = await startServer(
        [...FLAGS, '--auth-secret-file', issuer.file, '--private-channels', '/user/*'],
        { env: { ...env, PUSH_WS_AUTH_LEEWAY: '0' } },
      );
      let issued = 0;
      const client = new PushClient(`ws://${server.host}:${server.port}/user/7`, {
        WebSocket,
        token: () => {
          issued++;
          return issuer.sign({ sub: '7', channels: ['/user/7'] }, { expiresInS: 2 });
        },
      });
      clients.push(client);
      const user = new Recorder(client);
      client.connect();
      await user.until(() => user.of('position').length === 1, 'the position');
      await published(server, { channel: '/user/7', data: 'first' });
      await user.until(
        () => user.of('state').some((s) => s.state === 'reconnecting' && s.code === 4001),
        'the close for the expired token',
      );
      await published(server, { channel: '/user/7', data: 'while away' });
      await user.until(() => user.of('pub').length === 2, 'the publication made while away');
      expect(user.of('state').find((s) => s.code === 4001)).toMatchObject({
        reason: 'token expired',
        wasOpen: true,
      });
      // A recovery frame answers only a client that came back with ?since= (its count: 1,
      // or 0 when the publication came after it was back).
      expect(user.of('recovery')).toEqual([expect.objectContaining({ recovered: true })]);
      expect(user.of('pub').map((p) => [p.offset, p.data])).toEqual([
        [1, 'first'],
        [2, 'while away'],
      ]);
      expect(issued).toBe(2);
      expect(user.of('error')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
