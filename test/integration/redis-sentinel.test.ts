import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import {
  TOKEN,
  frames,
  lastPosition,
  openOn,
  pubData,
  publish,
  published,
} from '../helpers/channels';
import { startRedis, startSentinel, stopAllRedis, type RedisProcess } from '../helpers/redis';
import { startServer, statusOf, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { OpenClients, type WsClient } from '../helpers/ws-client';

/** The primary's password: it must reach neither a log nor /status. */
const SECRET = 'sentinel-test-s3cret';
const MASTER = 'pushws-test';
/** Detection (down-after 1 s) + election + promotion, on a loaded box: generous. */
const FAILOVER_BOUND_MS = 30_000;

interface Status {
  clients: { pid: number; channel: string }[];
  backplane: { state: string };
}

const status = (server: ServerProcess): Promise<Status> => statusOf<Status>(server);

/** A direct connection to one node, for the test's own look at replication. */
function admin(node: RedisProcess): Redis {
  return new Redis(node.port, '127.0.0.1', {
    password: SECRET,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
}

/** Replication offsets: the replica has everything the primary had. */
async function replicated(primary: RedisProcess, replica: RedisProcess): Promise<void> {
  const [p, r] = [admin(primary), admin(replica)];
  try {
    await Promise.all([p.connect(), r.connect()]);
    const field = (info: string, name: string): number =>
      Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? -1);
    await waitFor(async () => {
      const primaryAt = field(await p.info('replication'), 'master_repl_offset');
      const replicaAt = field(await r.info('replication'), 'slave_repl_offset');
      return primaryAt > 0 && replicaAt === primaryAt;
    }, 'the replica to catch up');
  } finally {
    p.disconnect();
    r.disconnect();
  }
}

describe('--redis redis+sentinel://: two instances follow a failover', () => {
  let dir: string;
  const opened = new OpenClients();
  const track = <T extends WsClient>(client: T): T => opened.track(client);

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pushws-sentinel-'));
  });
  afterAll(async () => {
    opened.terminateAll();
    await stopAllServers();
    await stopAllRedis();
    rmSync(dir, { recursive: true, force: true });
  });

  test('primary SIGKILLed: clients stay, publish 503 then works on both, recovery goes through', async () => {
    // Each node in a directory of its own: a replica writes the RDB of its full sync there.
    const auth = ['--requirepass', SECRET, '--masterauth', SECRET];
    const nodeDir = (name: string): string[] => {
      const where = path.join(dir, name);
      mkdirSync(where);
      return ['--dir', where];
    };
    const primary = await startRedis({ args: [...auth, ...nodeDir('primary')] });
    const replica = await startRedis({
      args: [...auth, ...nodeDir('replica'), '--replicaof', '127.0.0.1', String(primary.port)],
    });
    await replica.waitForLog(/MASTER <-> REPLICA sync: Finished with success/);
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      sentinels.push(
        await startSentinel({ name: MASTER, primaryPort: primary.port, password: SECRET, dir }),
      );
    }
    // Each sentinel must know the replica and the two other sentinels before a failover.
    for (const sentinel of sentinels) {
      await sentinel.waitForLog(/\+slave slave 127\.0\.0\.1:\d+/);
      await waitFor(
        () => (sentinel.output.match(/\+sentinel sentinel /g) ?? []).length >= 2,
        'the sentinels to find each other',
      );
    }

    const hosts = sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
    const url = `redis+sentinel://:${SECRET}@${hosts}/${MASTER}`;
    const start = (): Promise<ServerProcess> =>
      startServer(['--interval-min', '0.2', '--interval-max', '0.3'], {
        // In the environment, as the README says: argv (ps) never shows the password.
        env: { PUSH_WS_REDIS: url, PUSH_WS_PUBLISH_TOKEN: TOKEN },
      });
    const [a, b] = [await start(), await start()];
    for (const server of [a, b]) {
      await waitFor(async () => (await status(server)).backplane.state === 'up', 'backplane up');
    }

    const onA = track(await openOn(a, '/ha?format=json'));
    const onB = track(await openOn(b, '/ha?format=json'));
    const away = await openOn(b, '/ha?format=json');
    await published(a, { channel: '/ha', data: 'before' });
    for (const client of [onA, onB, away]) {
      await client.until(() => pubData(client).includes('before'), 'the first publication');
    }
    const left = lastPosition(away);
    away.terminate();
    await published(b, { channel: '/ha', data: 'while away' });
    // The away client's worker exits when its master sees the close: until then /status
    // still lists it, and a snapshot taken too early counted three workers, not two.
    let workers: Array<{ pid: number }> = [];
    await waitFor(async () => {
      workers = (await Promise.all([a, b].map(status))).flatMap((s) => s.clients);
      return workers.length === 2;
    }, "the away client's worker to exit");
    await replicated(primary, replica);

    const killedAt = Date.now();
    await primary.kill();
    for (const server of [a, b]) {
      await waitFor(async () => (await status(server)).backplane.state === 'down', 'down', 10_000);
    }
    const refused = await publish(a, { channel: '/ha', data: 'refused' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);

    // Publishing works again once ioredis has found the promoted replica.
    const statuses: number[] = [];
    await waitFor(
      async () => {
        const answer = await publish(a, { channel: '/ha', data: 'after' });
        statuses.push(answer.status);
        return answer.status === 200;
      },
      'publishing to work again',
      FAILOVER_BOUND_MS,
      200,
    );
    const failoverMs = Date.now() - killedAt;
    process.stdout.write(
      `sentinel failover: publishing works again ${failoverMs} ms after the primary's SIGKILL\n`,
    );
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set(statuses.length > 1 ? [503] : []));
    for (const sentinel of sentinels) {
      await sentinel.waitForLog(new RegExp(`\\+switch-master ${MASTER} .* ${replica.port}$`, 'm'));
    }

    // B follows the new primary too: a publish on B reaches A's client, and the reverse.
    await waitFor(async () => (await status(b)).backplane.state === 'up', 'B up', 10_000);
    await published(b, { channel: '/ha', data: 'from B' });
    await onA.until(() => pubData(onA).includes('from B'), 'B -> A after the failover');
    await published(a, { channel: '/ha', data: 'from A' });
    await onB.until(() => pubData(onB).includes('from A'), 'A -> B after the failover');
    for (const client of [onA, onB]) {
      await client.until(() => pubData(client).includes('from A'), 'the last publication');
      expect(client.closeCode).toBeUndefined();
      expect(pubData(client)).toEqual(['before', 'while away', 'after', 'from B', 'from A']);
    }
    const after = (await Promise.all([a, b].map(status))).flatMap((s) => s.clients);
    expect(after.map((c) => c.pid).sort()).toEqual(workers.map((c) => c.pid).sort());

    // The client that left before the failover comes back and recovers across it.
    const back = track(await openOn(a, `/ha?format=json&since=${left.offset}&epoch=${left.epoch}`));
    expect(frames(back)[0]).toMatchObject({ type: 'recovery', recovered: true, count: 4 });
    await back.until(() => pubData(back).length >= 4, 'the recovered publications');
    expect(pubData(back)).toEqual(['while away', 'after', 'from B', 'from A']);

    // The password reached neither a log nor /status.
    for (const server of [a, b]) {
      expect(server.output).toMatch(/redis\+sentinel:\/\/\*\*\*@127\.0\.0\.1:\d+/);
      expect(server.output).not.toContain(SECRET);
      expect(server.output).not.toMatch(/\b500\b|\n\s+at /);
      expect(JSON.stringify(await status(server))).not.toContain(SECRET);
    }
  }, 90_000);
});
