import Redis from 'ioredis';
import { startNginx, stopAllNginx, type NginxProcess } from '../helpers/nginx';
import { startRedis, stopAllRedis, type RedisProcess } from '../helpers/redis';
import { startServer, stopAllServers, type ServerProcess, statusOf } from '../helpers/server';
import {
  TOKEN,
  frames,
  lastPosition,
  openOn,
  pubData,
  pubTexts as pubs,
  publish,
  published,
} from '../helpers/channels';
import { waitFor } from '../helpers/wait';
import { OpenClients, type WsClient } from '../helpers/ws-client';

/** Pushes every 0.2-0.3 s: a client's demo pushes show it is still served. */
const PUSHES = ['--interval-min', '0.2', '--interval-max', '0.3'];
/** How long publishing may take to work again after Redis is back (Retry-After: 5 s, docs/operations.md). */
const RECOVERY_BOUND_MS = 5000;

interface Status {
  clients: { id: number; global_id: string; channel: string }[];
  instance: string;
  backplane: { state: string };
}

const status = (server: ServerProcess): Promise<Status> => statusOf<Status>(server);

async function instances(redis: RedisProcess, extra: string[] = []): Promise<ServerProcess[]> {
  const start = (): Promise<ServerProcess> =>
    startServer([...PUSHES, '--redis', redis.url, ...extra], {
      env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
    });
  const servers = [await start(), await start()];
  for (const server of servers) {
    await waitFor(async () => (await status(server)).backplane.state === 'up', 'the backplane');
  }
  return servers;
}

describe('two instances, one Redis, behind nginx', () => {
  let redis: RedisProcess;
  let a: ServerProcess;
  let b: ServerProcess;
  let nginx: NginxProcess;
  const opened = new OpenClients();
  const track = <T extends WsClient>(client: T): T => opened.track(client);

  beforeAll(async () => {
    redis = await startRedis();
    [a, b] = await instances(redis);
    nginx = await startNginx('push-websocket-lb.conf', {
      upstreams: [a, b].map((server) => `${server.host}:${server.port}`),
    });
  }, 40_000);
  afterEach(() => {
    opened.terminateAll();
  });
  afterAll(async () => {
    await stopAllNginx();
    await stopAllServers();
    await stopAllRedis();
  });

  const viaNginx = (path: string): Promise<WsClient> =>
    openOn({ host: '127.0.0.1', port: nginx.httpPort } as ServerProcess, path);

  test('a publish on A reaches every client of A and B once; channels stay apart', async () => {
    const news: WsClient[] = [];
    for (let i = 0; i < 6; i++) news.push(track(await viaNginx('/news')));
    const sport = track(await viaNginx('/sport'));
    const [onA, onB] = await Promise.all([status(a), status(b)]);
    expect(onA.clients.length).toBeGreaterThan(0);
    expect(onB.clients.length).toBeGreaterThan(0);
    expect(onA.instance).not.toBe(onB.instance);
    expect(onA.backplane.state).toBe('up');

    const answer = await published(a, { channel: '/news', data: 'pub:news' });
    expect(answer).toMatchObject({ channel: '/news', offset: 1, instance: onA.instance });
    expect(answer).not.toHaveProperty('queued'); // A cannot know B's clients
    await published(b, { data: 'pub:all' });
    for (const client of news) {
      await client.until((m) => m.includes('pub:all'), 'the broadcast');
      expect(pubs(client)).toEqual(['pub:news', 'pub:all']);
    }
    await sport.until((m) => m.includes('pub:all'), 'the broadcast');
    expect(pubs(sport)).toEqual(['pub:all']);
  });

  test('publications to one channel arrive in the order published, whichever instance took them', async () => {
    const clients: WsClient[] = [];
    for (let i = 0; i < 4; i++) clients.push(track(await viaNginx('/order')));
    const sent: string[] = [];
    for (let i = 1; i <= 20; i++) {
      sent.push(`pub:${i}`);
      await published(i % 2 === 0 ? a : b, { channel: '/order', data: `pub:${i}` });
    }
    for (const client of clients) {
      await client.until((m) => m.includes('pub:20'), 'the last publication');
      expect(pubs(client)).toEqual(sent);
    }
  });

  test('a message to a client id on B, sent through A, reaches that client alone', async () => {
    const clients: WsClient[] = [];
    for (let i = 0; i < 4; i++) clients.push(track(await viaNginx('/direct')));
    const target = (await status(b)).clients.find((c) => c.channel === '/direct');
    expect(target).toBeDefined();
    const response = await publish(a, { client: target?.global_id, data: 'pub:just you' });
    expect(response.status).toBe(202);
    const hello = new RegExp(`as client #${target?.id}$`);
    const mine = clients.filter((c) => {
      const pid = Number(/PID (\d+)/.exec(c.messages[0])?.[1]);
      return hello.test(c.messages[0]) && b.workerPids().includes(pid);
    });
    expect(mine).toHaveLength(1);
    await mine[0].until((m) => m.includes('pub:just you'), 'the direct message');
    const unknown = await publish(a, { client: `${(await status(b)).instance}-99999`, data: 'x' });
    expect([202, 404]).toContain(unknown.status); // B cannot be asked whether it has it: 202
  });

  test('a client away while A publishes comes back through B and recovers; A restarted keeps the history', async () => {
    const first = await openOn(b, '/history?format=json');
    await published(a, { channel: '/history', data: 'seen' });
    await first.until(() => pubData(first).includes('seen'), 'the first publication');
    const { offset, epoch } = lastPosition(first);
    first.terminate();
    for (const data of ['m1', 'm2', 'm3']) await published(a, { channel: '/history', data });
    const back = track(await openOn(b, `/history?format=json&since=${offset}&epoch=${epoch}`));
    expect(frames(back)[0]).toMatchObject({ type: 'recovery', recovered: true, count: 3 });
    await back.until(() => pubData(back).length >= 3, 'the recovered publications');
    expect(pubData(back)).toEqual(['m1', 'm2', 'm3']);

    // A restarts (a deploy): the history lives in Redis, not in A.
    const port = a.port;
    await a.stop();
    a = await startServer([...PUSHES, '--redis', redis.url], {
      env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
      port,
    });
    await waitFor(async () => (await status(a)).backplane.state === 'up', 'A back up');
    const again = track(await openOn(a, `/history?format=json&since=${offset}&epoch=${epoch}`));
    expect(frames(again)[0]).toMatchObject({ type: 'recovery', recovered: true, count: 3 });
  }, 30_000);

  test('FLUSHALL loses the history: the next recovery says the epoch changed', async () => {
    const watcher = track(await openOn(a, '/flush?format=json'));
    await published(a, { channel: '/flush', data: 'before' });
    await watcher.until(() => pubData(watcher).includes('before'), 'the publication');
    const { offset, epoch } = lastPosition(watcher);
    const admin = new Redis(redis.port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    await admin.connect();
    await admin.flushall();
    admin.disconnect();
    await published(a, { channel: '/flush', data: 'after' });
    const back = track(await openOn(b, `/flush?format=json&since=${offset}&epoch=${epoch}`));
    expect(frames(back)[0]).toMatchObject({
      type: 'recovery',
      recovered: false,
      reason: 'epoch changed',
    });
  });

  test('Redis killed: publishes get 503, clients keep their pushes; Redis back: publishing works on both', async () => {
    const client = track(await viaNginx('/outage'));
    await redis.kill();
    await waitFor(async () => (await status(a)).backplane.state === 'down', 'A to see it down');
    const refused = await publish(a, { channel: '/outage', data: 'pub:lost' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.text()).toMatch(/backplane is down/);
    const before = client.messages.length;
    await client.until((m) => m.length >= before + 3, 'pushes while Redis is down');

    const restartedAt = Date.now();
    redis = await startRedis({ port: redis.port });
    for (const server of [a, b]) {
      await waitFor(
        async () => (await status(server)).backplane.state === 'up',
        'the backplane back up',
        RECOVERY_BOUND_MS + 5000,
      );
    }
    const recoveredMs = Date.now() - restartedAt;
    process.stdout.write(`Redis restart -> both instances up in ${recoveredMs} ms\n`);
    expect(recoveredMs).toBeLessThan(RECOVERY_BOUND_MS + 5000);
    await published(b, { channel: '/outage', data: 'pub:back' });
    await client.until((m) => m.includes('pub:back'), 'a publication after the outage');
    expect(pubs(client)).toEqual(['pub:back']);
    await a.waitForLog(/Redis backplane.*up/i);
  }, 40_000);
});
