import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TOKEN, frames, openOn, publish, type JsonFrame } from '../helpers/channels';
import { rawHttp } from '../helpers/raw-http';
import { startRedis, stopAllRedis, type RedisProcess } from '../helpers/redis';
import { startServer, stopAllServers, statusOf, type ServerProcess } from '../helpers/server';
import { HANG_BOUND_MS, waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/**
 * What survives a Redis crash: two instances on one Redis with AOF (fsync always), JSON
 * and text clients that stay connected, publishers that retry with Idempotency-Key.
 * Redis is SIGKILLed while publications are in flight and started again from its AOF.
 */

interface Status {
  backplane: { state: string };
}

interface Ack {
  offset: number;
  epoch: string;
  data: string;
}

/** The AOF directory of each persistent Redis, by port. */
const aofDirs = new Map<number, string>();

/** A Redis that keeps every acknowledged write: AOF, fsync on each. */
async function persistentRedis(): Promise<RedisProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pushws-aof-'));
  const redis = await startRedis({ args: aofArgs(dir) });
  aofDirs.set(redis.port, dir);
  return redis;
}

/** The same Redis started again (after a kill) on its port, from its AOF. */
function restarted(redis: RedisProcess): Promise<RedisProcess> {
  return startRedis({ port: redis.port, args: aofArgs(aofDirs.get(redis.port) as string) });
}

const aofArgs = (dir: string): string[] => [
  '--appendonly',
  'yes',
  '--appendfsync',
  'always',
  '--dir',
  dir,
];

const backplane = async (server: ServerProcess): Promise<string> =>
  (await statusOf<Status>(server)).backplane.state;

async function instance(redis: RedisProcess): Promise<ServerProcess> {
  const server = await startServer(['--no-demo', '--redis', redis.url], {
    env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
  });
  await waitFor(async () => (await backplane(server)) === 'up', 'the backplane up');
  return server;
}

/** The offsets of a JSON client's `pub` frames of a channel, in the order received. */
const pubOffsets = (client: WsClient, channel: string): number[] =>
  frames(client)
    .filter((f) => f.type === 'pub' && f.channel === channel)
    .map((f) => f.offset as number);

/** Where a JSON client started: its position frame's offset. */
const startOf = (client: WsClient): number => {
  const first: JsonFrame = frames(client)[0];
  if (first.type !== 'position') throw new Error(`first frame is ${JSON.stringify(first)}`);
  return first.offset as number;
};

/**
 * Publishes `data` to `channel` with an idempotency key until an answer is 200, on the
 * servers in turn; 503 and 504 are retried (the same key), anything else fails the test.
 */
async function publishSurely(
  servers: ServerProcess[],
  channel: string,
  data: string,
  key: string,
  statuses: number[],
): Promise<Ack> {
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; Date.now() < deadline; attempt += 1) {
    const server = servers[attempt % servers.length];
    let response: Response;
    try {
      response = await publish(server, { channel, data }, { key });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    statuses.push(response.status);
    const text = await response.text();
    if (response.status === 200) {
      const body = JSON.parse(text) as { offset: number; epoch: string };
      return { offset: body.offset, epoch: body.epoch, data };
    }
    if (response.status !== 503 && response.status !== 504) {
      throw new Error(`publish answered ${response.status}: ${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${key} not acknowledged within 30 s`);
}

afterAll(async () => {
  await stopAllServers();
  await stopAllRedis();
  for (const dir of aofDirs.values()) rmSync(dir, { recursive: true, force: true });
});

describe('Redis SIGKILLed while publishing', () => {
  test('connected clients get every acknowledged publication exactly once, in order', async () => {
    const redis = await persistentRedis();
    const servers = [await instance(redis), await instance(redis)];
    const channels = ['/k1', '/k2'];
    const json: { client: WsClient; channel: string }[] = [];
    const text: { client: WsClient; channel: string }[] = [];
    for (const server of servers) {
      for (const channel of channels) {
        for (let i = 0; i < 2; i += 1) {
          json.push({ client: await openOn(server, `${channel}?format=json`), channel });
        }
        // No first frame for a text client with --no-demo; its 101 comes once it is subscribed.
        text.push({
          client: await WsClient.open(`ws://${server.host}:${server.port}${channel}`),
          channel,
        });
      }
    }
    const statuses: number[] = [];
    const acks = new Map<string, Ack[]>(channels.map((c) => [c, []]));
    let stop = false;
    let sent = 0;
    // Four publishers, each its own channel's publications one after the other.
    const publishers = [0, 1, 2, 3].map(async (n) => {
      const channel = channels[n % channels.length];
      for (let i = 0; !stop; i += 1) {
        const data = `p${n}-${i}`;
        acks.get(channel)?.push(await publishSurely(servers, channel, data, data, statuses));
        sent += 1;
      }
    });
    await waitFor(() => sent >= 40, '40 publications before the crash');
    await redis.kill();
    await waitFor(
      async () => (await Promise.all(servers.map(backplane))).every((s) => s === 'down'),
      'both instances to see Redis down',
    );
    const beforeRestart = sent;
    await restarted(redis);
    await waitFor(() => sent >= beforeRestart + 40, '40 publications after the restart', 30_000);
    stop = true;
    await Promise.all(publishers);

    // Every JSON client: from its start, each acknowledged offset once, in order.
    for (const { client, channel } of json) {
      const start = startOf(client);
      const want = (acks.get(channel) ?? [])
        .map((ack) => ack.offset)
        .filter((offset) => offset > start)
        .sort((a, b) => a - b);
      await client.until(
        () => pubOffsets(client, channel).length >= want.length,
        `${want.length} publications on ${channel}`,
        HANG_BOUND_MS,
      );
      expect(pubOffsets(client, channel)).toEqual(want);
      expect(frames(client).filter((f) => (f.type as string) === 'gap')).toEqual([]);
      const byOffset = new Map((acks.get(channel) ?? []).map((ack) => [ack.offset, ack.data]));
      for (const f of frames(client).filter((x) => x.type === 'pub')) {
        expect(f.data).toBe(byOffset.get(f.offset as number));
      }
    }
    // Text clients: every acknowledged data once, in offset order.
    for (const { client, channel } of text) {
      const want = (acks.get(channel) ?? [])
        .slice()
        .sort((a, b) => a.offset - b.offset)
        .map((ack) => ack.data);
      await client.until(
        (messages) => messages.filter((m) => /^p\d/.test(m)).length >= want.length,
        `${want.length} text publications on ${channel}`,
      );
      expect(client.messages.filter((m) => /^p\d/.test(m))).toEqual(want);
    }
    const counts = new Map<number, number>();
    for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
    process.stdout.write(
      `Redis SIGKILL while publishing: ${sent} acknowledged, answers ${JSON.stringify(
        Object.fromEntries(counts),
      )}, ${json.length + text.length} clients, holes filled from history: ${servers
        .map((server) => server.output.match(/read back from history/g)?.length ?? 0)
        .join('+')}, lost 0\n`,
    );
    expect(counts.get(500)).toBeUndefined();
    expect([...counts.keys()].every((status) => [200, 503, 504].includes(status))).toBe(true);
    for (const server of servers) expect(server.output).not.toMatch(/^\s+at /m);
    for (const { client } of [...json, ...text]) client.terminate();
  }, 90_000);
});

describe('a publish whose Redis round trip is cut', () => {
  test('answers 504 (outcome unknown), one log line; the retry after restart publishes once', async () => {
    const redis = await persistentRedis();
    const server = await instance(redis);
    const client = await openOn(server, '/cut?format=json');
    const first = await publish(server, { channel: '/cut', data: 'before' });
    expect(first.status).toBe(200);

    // Redis stops answering, the publish is written to it, then Redis dies under it.
    process.kill(redis.pid, 'SIGSTOP');
    const inFlight = fetch(`${server.httpUrl}/publish`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': 'cut-1',
      },
      body: JSON.stringify({ channel: '/cut', data: 'in flight' }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.kill();
    const cut = await inFlight;
    const reason = await cut.text();
    expect(cut.status).toBe(504);
    expect(cut.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(reason).toMatch(/^Outcome unknown: .*may or may not have been done.*Idempotency-Key/);
    const lines = server.output.split('\n').filter((line) => line.includes('504 for'));
    expect(lines).toHaveLength(1);
    expect(server.output).not.toMatch(/^\s+at /m);
    expect(server.output).not.toMatch(/\b500\b/);

    await restarted(redis);
    await waitFor(async () => (await backplane(server)) === 'up', 'the backplane back');
    const retry = await publish(server, {
      channel: '/cut',
      data: 'in flight',
      idempotency_key: 'cut-1',
    });
    expect(retry.status).toBe(200);
    await client.until(() => pubOffsets(client, '/cut').length >= 2, 'the retried publication');
    expect(
      frames(client)
        .filter((f) => f.type === 'pub')
        .map((f) => f.data),
    ).toEqual(['before', 'in flight']);
    client.terminate();
  }, 60_000);

  test('a retry after a Redis crash returns the first answer; delivered once', async () => {
    const redis = await persistentRedis();
    const [a, b] = [await instance(redis), await instance(redis)];
    const onB = await openOn(b, '/idem?format=json');
    const send = (server: ServerProcess): Promise<Response> =>
      fetch(`${server.httpUrl}/publish?channel=/idem`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Idempotency-Key': 'order-7' },
        body: 'the order',
      });
    const firstResponse = await send(a);
    expect(firstResponse.status).toBe(200);
    const firstAnswer = (await firstResponse.json()) as Record<string, unknown>;
    await onB.until(() => pubOffsets(onB, '/idem').length === 1, 'the first publication');

    await redis.kill();
    await restarted(redis);
    for (const server of [a, b]) {
      await waitFor(async () => (await backplane(server)) === 'up', 'the backplane back');
    }
    // Retried on the other instance: same offset and epoch, not published again.
    const retry = await send(b);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const again = (await retry.json()) as Record<string, unknown>;
    expect(again).toMatchObject({
      channel: '/idem',
      offset: firstAnswer.offset,
      epoch: firstAnswer.epoch,
      replayed: true,
    });
    const other = await publish(a, {
      channel: '/idem',
      data: 'other data',
      idempotency_key: 'order-7',
    });
    expect(other.status).toBe(422);
    const next = await publish(a, { channel: '/idem', data: 'next' });
    expect(next.status).toBe(200);
    await onB.until(() => pubOffsets(onB, '/idem').length >= 2, 'the next publication');
    expect(
      frames(onB)
        .filter((f) => f.type === 'pub')
        .map((f) => f.data),
    ).toEqual(['the order', 'next']);
    onB.terminate();
  }, 60_000);
});

describe('no recovery without history', () => {
  test('a returning client while Redis is down: 503 with Retry-After; later it recovers', async () => {
    const redis = await persistentRedis();
    const server = await instance(redis);
    const first = await openOn(server, '/back?format=json');
    await publish(server, { channel: '/back', data: 'one' });
    await first.until(() => pubOffsets(first, '/back').length === 1, 'the first publication');
    const epoch = frames(first).find((f) => f.type === 'pub')?.epoch as string;
    first.terminate();

    await redis.kill();
    await waitFor(async () => (await backplane(server)) === 'down', 'the backplane down');
    const refused = await rawHttp(server.port, `/back?format=json&since=1&epoch=${epoch}`, {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.body).toMatch(/History unavailable/);
    expect(refused.body).not.toMatch(/redis:/); // the backplane's address stays in the log
    await server.waitForLog(/503 for .*history unavailable/);

    await restarted(redis);
    await waitFor(async () => (await backplane(server)) === 'up', 'the backplane back');
    await publish(server, { channel: '/back', data: 'two' });
    const back = await openOn(server, `/back?format=json&since=1&epoch=${epoch}`);
    await back.until(() => pubOffsets(back, '/back').length === 1, 'the missed publication');
    expect(frames(back)[0]).toEqual({
      type: 'recovery',
      recovered: true,
      count: 1,
      channel: '/back',
      epoch,
      offset: 2,
    });
    // Not recovered (an epoch it never had): the frame still says where to stand.
    const lost = await openOn(server, '/back?format=json&since=1&epoch=gone');
    expect(frames(lost)[0]).toEqual({
      type: 'recovery',
      recovered: false,
      count: 0,
      reason: 'epoch changed',
      channel: '/back',
      epoch,
      offset: 2,
    });
    back.terminate();
    lost.terminate();
  }, 60_000);
});
