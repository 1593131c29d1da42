import { RedisPresence } from '../../src/master/presence/redis-presence';
import { PresenceUnavailableError } from '../../src/master/presence/types';
import { entry, presenceContract } from '../contract/presence-contract';
import { startRedis, stopAllRedis, type RedisProcess } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

let redis: RedisProcess;
const created: RedisPresence[] = [];
let prefixes = 0;

const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined };

async function store(
  url: string,
  instanceId: string,
  keyPrefix: string,
  ttlMs = 15_000,
  vacateGraceMs?: number,
): Promise<RedisPresence> {
  const presence = new RedisPresence({
    url,
    instanceId,
    ttlMs,
    keyPrefix,
    logger: quiet,
    vacateGraceMs,
  });
  created.push(presence);
  await waitFor(() => presence.up, 'the presence connection');
  return presence;
}

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(created.map((presence) => presence.close()));
  await stopAllRedis();
});

presenceContract('RedisPresence', () => {
  prefixes += 1;
  const keyPrefix = `p${prefixes}:`;
  return {
    create: (instanceId, grace) => store(redis.url, instanceId, keyPrefix, 15_000, grace),
    peer: (instanceId, grace) => store(redis.url, instanceId, keyPrefix, 15_000, grace),
  };
});

describe('RedisPresence under faults', () => {
  test('an instance that stops beating drops out of the list within its TTL', async () => {
    const alive = await store(redis.url, 'alive', 'ttl:', 600);
    const doomed = await store(redis.url, 'doomed', 'ttl:', 600);
    const [a, b] = [entry('alive', '/ttl', 1), entry('doomed', '/ttl', 2)];
    alive.join(a);
    doomed.join(b);
    await waitFor(async () => (await alive.list('/ttl')).length === 2, 'both listed');
    // A SIGKILL, as Redis sees it: the connection drops, no entry is removed, no beat comes.
    (doomed as unknown as { redis: { disconnect(): void } }).redis.disconnect();
    clearInterval((doomed as unknown as { timer: NodeJS.Timeout }).timer);
    const started = Date.now();
    await waitFor(async () => (await alive.list('/ttl')).length === 1, 'the dead one gone', 5000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await alive.list('/ttl')).toEqual([a]);
  });

  test('with Redis down a read is refused; what joined meanwhile is listed once it is back', async () => {
    const own = await startRedis();
    const presence = await store(own.url, 'box', 'down:');
    const before = entry('box', '/down', 1);
    presence.join(before);
    expect(await presence.list('/down')).toEqual([before]);
    await own.kill();
    await waitFor(() => !presence.up, 'the link down');
    await expect(presence.list('/down')).rejects.toBeInstanceOf(PresenceUnavailableError);
    const during = entry('box', '/down', 2);
    presence.join(during);
    // A restart loses everything (no persistence): the instance writes its table again.
    const again = await startRedis({ port: own.port });
    await waitFor(() => presence.up, 'the link back');
    await waitFor(
      async () => (await presence.list('/down').catch(() => [])).length === 2,
      'both listed again',
    );
    expect(await presence.list('/down')).toEqual([before, during]);
    await presence.close();
    await again.stop();
  });
});
