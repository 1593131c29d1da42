import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAlive } from '../../scripts/lib/proc';
import { TOKEN } from '../helpers/channels';
import { startRedis, stopAllRedis, type RedisProcess } from '../helpers/redis';
import { seeded } from '../helpers/seeded';
import { startServer, statusOf, stopAllServers, type ServerProcess } from '../helpers/server';
import { Conditions, waitFor } from '../helpers/wait';
import { ChaosClient } from './chaos-client';
import { ChaosPublisher, sleep, type Acked } from './chaos-publisher';

/**
 * The chaos test: two instances joined by a persistent Redis (AOF, fsync always), JSON
 * clients on several channels that come back with ?since=&epoch= as the README says,
 * and a counting publisher, while workers are SIGKILLed, clients dropped, Redis
 * SIGKILLed and started again from its AOF, and an instance restarted on its port.
 * Then: every acknowledged publication reached every client of its channel exactly
 * once, in order, from where it joined. Seeded: CHAOS_SEED=N replays the schedule
 * (not the machine's timing).
 */

const CHANNELS = ['/c0', '/c1', '/c2', '/c3'];
const CLIENTS = 20;
/** How long faults are made; the whole test stays about a minute. */
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 30_000);
const SETTLE_BOUND_MS = 20_000;

interface Status {
  clients: { pid: number; channel?: string }[];
  spares: number[];
  backplane: { state: string };
}

/** One of the two instances: its process now (a new one after a restart) and whether it is up. */
interface Instance {
  name: string;
  port: number;
  server: ServerProcess;
  up: boolean;
}

const STACK_TRACE = /^\s+at \S.*(:\d+:\d+\)?|\(native\))$/m;
const ANSWERED_500 = /(^|[\s"])500 (for|Internal)/m;

test('chaos: nothing acknowledged is lost, duplicated or reordered', async () => {
  const seed = Number(process.env.CHAOS_SEED ?? process.env.TEST_SEED ?? Date.now() % 2 ** 31);
  process.stdout.write(`chaos: replay with CHAOS_SEED=${seed}\n`);
  const random = seeded('chaos', seed);
  const dir = mkdtempSync(path.join(tmpdir(), 'pushws-chaos-'));
  const persistent = ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'];
  const conditions = new Conditions();
  const every: ServerProcess[] = [];
  const workersSeen = new Set<number>();
  const counts = { workerKills: 0, drops: 0, redisRestarts: 0, instanceRestarts: 0 };
  const clients: ChaosClient[] = [];
  let redis: RedisProcess | undefined;
  let passed = false;
  try {
    redis = await startRedis({ args: persistent });
    const redisUrl = redis.url;
    const start = async (port = 0): Promise<ServerProcess> => {
      const server = await startServer(
        ['--no-demo', '--redis', redisUrl, '--history', '1000', '--spare-workers', '2'],
        { env: { PUSH_WS_PUBLISH_TOKEN: TOKEN }, port },
      );
      every.push(server);
      return server;
    };
    const instances: Instance[] = [];
    for (const name of ['A', 'B']) {
      const server = await start();
      instances.push({ name, port: server.port, server, up: true });
    }
    const upInstances = (): Instance[] => instances.filter((instance) => instance.up);
    const backplaneUp = async (instance: Instance): Promise<void> => {
      await waitFor(
        async () => (await statusOf<Status>(instance.server)).backplane.state === 'up',
        `${instance.name}'s backplane up`,
      );
    };
    for (const instance of instances) await backplaneUp(instance);
    const pickBase = (scheme: string): string | undefined => {
      const up = upInstances();
      return up.length === 0 ? undefined : `${scheme}://127.0.0.1:${random.pick(up).port}`;
    };

    const publisher = new ChaosPublisher({
      keyPrefix: `chaos-${random.seed}-${Date.now()}`,
      pickBase: () => pickBase('http'),
      pauseMs: () => 20 + random.int(100),
    });
    await publisher.probe('/chaos-probe');
    process.stdout.write(
      `chaos: the server ${publisher.idempotent ? 'honours' : 'ignores'} Idempotency-Key: ` +
        `${publisher.idempotent ? 'unacknowledged publications are retried' : 'no retries'}\n`,
    );

    for (let i = 0; i < CLIENTS; i++) {
      const client = new ChaosClient(`client${i}`, CHANNELS[i % CHANNELS.length], {
        pickBase: () => pickBase('ws'),
        retryDelay: () => 50 + random.int(300),
        wake: () => conditions.wake(),
      });
      clients.push(client);
      client.start();
      await sleep(100); // not 20 forks at once
    }
    await conditions.until(
      () => clients.every((client) => client.joined !== undefined),
      'every client to join',
      30_000,
      () =>
        `: ${clients
          .filter((c) => c.joined === undefined)
          .map((c) => `${c.name} ${c.lastEnd}`)
          .join('; ')}`,
    );

    // The faults. The publishers run meanwhile, one per channel.
    let chaos = true;
    const publishing = CHANNELS.map((channel) => publisher.run(channel, () => chaos));
    const startedAt = Date.now();
    const at = (share: number): number => startedAt + CHAOS_MS * share;
    const redisAt = at(0.2 + random.next() * 0.2);
    const restartAt = at(0.55 + random.next() * 0.2);
    const big = (async () => {
      await sleep(redisAt - Date.now());
      const port = redis?.port as number;
      await redis?.kill();
      await sleep(200 + random.int(2500));
      redis = await startRedis({ port, args: persistent });
      counts.redisRestarts++;
      for (const instance of upInstances()) await backplaneUp(instance);

      await sleep(restartAt - Date.now());
      const instance = random.pick(instances);
      instance.up = false;
      await instance.server.stop();
      await sleep(100 + random.int(1500));
      instance.server = await start(instance.port);
      instance.up = true;
      counts.instanceRestarts++;
    })();
    while (Date.now() - startedAt < CHAOS_MS) {
      await sleep(200 + random.int(700));
      if (random.next() < 0.5) {
        const instance = random.pick(upInstances());
        const status = await statusOf<Status>(instance.server).catch(() => undefined);
        const busy = status?.clients.filter((client) => client.channel !== undefined) ?? [];
        if (busy.length === 0) continue;
        const pid = random.pick(busy).pid;
        // Only a worker of a server this test started, alive now.
        if (!instance.server.workerPids().includes(pid)) continue;
        process.kill(pid, 'SIGKILL');
        counts.workerKills++;
      } else if (random.pick(clients).drop()) {
        counts.drops++;
      }
      for (const instance of upInstances()) {
        for (const pid of instance.server.workerPids()) workersSeen.add(pid);
      }
    }
    await big;
    chaos = false;
    await Promise.all(publishing);

    // Settle: one last acknowledged publication per channel, then every client has it.
    const last = new Map<string, Acked>();
    for (const channel of CHANNELS) {
      const acked = await publisher.publishOne(
        channel,
        `${channel}#last`,
        `${random.seed}-last-${channel}-${Date.now()}`,
      );
      if (acked === undefined)
        throw new Error(`the last publication to ${channel} was not acknowledged`);
      last.set(channel, acked);
    }
    await conditions
      .until(
        () =>
          clients.every((client) => {
            const end = last.get(client.channel) as Acked;
            return client.open && client.at?.epoch === end.epoch && client.at.offset >= end.offset;
          }),
        'every client connected and caught up',
        SETTLE_BOUND_MS,
      )
      .catch((error: Error) => {
        const behind = clients
          .filter((c) => !c.open || (c.at?.offset ?? -1) < (last.get(c.channel) as Acked).offset)
          .map(
            (c) => `${c.name}${c.channel} open=${c.open} at=${JSON.stringify(c.at)} ${c.lastEnd}`,
          );
        throw new Error(`${error.message}: ${behind.join('; ')}`);
      });
    const allOpen = clients.every((client) => client.open);
    for (const instance of instances) {
      for (const pid of instance.server.workerPids()) workersSeen.add(pid);
    }
    await Promise.all(clients.map((client) => client.stop()));

    // The books: per client, every acknowledged publication after its join, once, in order.
    const lost: string[] = [];
    const problems = [...publisher.problems];
    let delivered = 0;
    let gapNotified = 0;
    for (const client of clients) {
      problems.push(...client.problems);
      delivered += client.seen.length;
      const joined = client.joined as { epoch: string; offset: number };
      const got = new Map(client.seen.map((seen) => [`${seen.epoch}:${seen.offset}`, seen]));
      const acked = [...(publisher.acked.get(client.channel)?.values() ?? [])];
      for (const publication of acked) {
        const key = `${publication.epoch}:${publication.offset}`;
        const seen = got.get(key);
        if (seen !== undefined && seen.data !== publication.data) {
          problems.push(
            `${client.name}: ${key} is ${seen.data}, acknowledged as ${publication.data}`,
          );
        }
        if (publication.epoch !== joined.epoch) {
          if (seen === undefined)
            lost.push(`${client.name}${client.channel} ${key} (another epoch)`);
          continue;
        }
        if (publication.offset <= joined.offset || seen !== undefined) continue;
        const told = client.gaps.some(
          (gap) =>
            gap.epoch === publication.epoch &&
            gap.from <= publication.offset &&
            publication.offset <= gap.to,
        );
        if (told) gapNotified++;
        lost.push(
          `${client.name}${client.channel} ${key} ${publication.data}${told ? ' (gap frame)' : ''}`,
        );
      }
    }
    const skipped = clients.flatMap((c) =>
      c.skipped.map((s) => `${c.name}${c.channel} ${s.epoch}:${s.from}-${s.to}`),
    );
    const summary = {
      seed: random.seed,
      acked: publisher.ackedCount,
      delivered,
      lost: lost.length,
      gapNotified,
      problems: problems.length,
      ...counts,
      reconnects: clients.reduce((sum, c) => sum + c.connects - 1, 0),
      recoveries: clients.reduce((sum, c) => sum + c.recoveries, 0),
      notRecovered: clients.reduce((sum, c) => sum + c.notRecovered, 0),
      retries: publisher.retries,
      givenUp: publisher.givenUp,
      answers: Object.fromEntries(publisher.answers),
    };
    process.stdout.write(`chaos: ${JSON.stringify(summary)}\n`);
    if (skipped.length > 0)
      process.stdout.write(`chaos: skipped silently: ${skipped.join(', ')}\n`);

    // Logs: no 500, no stack trace, from any process of any instance.
    for (const server of every) {
      for (const line of server.output.split('\n')) {
        if (ANSWERED_500.test(line)) problems.push(`log of ${server.pid}: ${line}`);
      }
      if (STACK_TRACE.test(server.output)) {
        problems.push(
          `stack trace in the log of ${server.pid}: ${STACK_TRACE.exec(server.output)?.[0]}`,
        );
      }
    }
    // (A 500 from /publish is among the publisher's problems.)
    expect({ lost: lost.slice(0, 30), problems: problems.slice(0, 30) }).toEqual({
      lost: [],
      problems: [],
    });
    expect(allOpen).toBe(true);
    expect(publisher.ackedCount).toBeGreaterThan(CHAOS_MS / 1000);
    expect(delivered).toBeGreaterThan(0);
    passed = true;
  } finally {
    if (!passed) {
      // For the post-mortem: every log, kept where the seed says.
      const keep = path.join(tmpdir(), `pushws-chaos-${seed}`);
      mkdirSync(keep, { recursive: true });
      every.forEach((server, i) =>
        writeFileSync(path.join(keep, `server-${i}-${server.pid}.log`), server.output),
      );
      if (redis !== undefined) writeFileSync(path.join(keep, 'redis.log'), redis.output);
      process.stdout.write(`chaos: logs kept in ${keep}\n`);
    }
    await Promise.all(clients.map((client) => client.stop()));
    await stopAllServers();
    await stopAllRedis();
    rmSync(dir, { recursive: true, force: true });
  }
  // Nothing left running: every server, worker and Redis this test started is gone.
  const left = [...every.map((server) => server.pid), ...workersSeen, redis?.pid ?? 0].filter(
    (pid) => pid > 0 && isAlive(pid),
  );
  expect(left).toEqual([]);
}, 150_000);
