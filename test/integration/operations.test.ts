import path from 'node:path';
import { childrenOf, commandLine, isAlive, procStat } from '../helpers/proc';
import { RawClient, handshakeRequest } from '../helpers/raw-client';
import {
  FAST,
  ROOT,
  ServerProcess,
  startServer,
  stopAllServers,
  statusOf,
} from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

interface Status {
  clients: { id: number; pid: number; remote: string; since: string; pushed: number | null }[];
  spares: number[];
  spare_target: number;
  limits: Record<string, unknown>;
  uptime_s: number;
  version: string;
}

const status = (server: ServerProcess): Promise<Status> => statusOf<Status>(server);

const sorted = (pids: number[]): number[] => [...pids].sort((a, b) => a - b);

/**
 * The master's live children are exactly its spares and its clients' workers, once
 * forks in flight have become ready (a spare is listed when it is ready to serve).
 */
async function expectChildrenMatchStatus(server: ServerProcess): Promise<Status> {
  let last: { children: number[]; listed: number[] } = { children: [], listed: [] };
  const body = await waitFor(async () => {
    const s = await status(server);
    last = {
      children: sorted(server.workerPids()),
      listed: sorted([...s.spares, ...s.clients.map((c) => c.pid)]),
    };
    return JSON.stringify(last.children) === JSON.stringify(last.listed) && s;
  }, 'the children of the master to match /status').catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(last)}`);
  });
  // A worker that just exited is a zombie until the master's loop reaps it: soon.
  await waitFor(
    () => childrenOf(server.pid).every((c) => c.state !== 'Z'),
    'the master to reap every exited worker',
  );
  return body;
}

describe('spare workers and process titles', () => {
  let server: ServerProcess;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    server = await startServer([...FAST, '--spare-workers', '2']);
  });
  afterAll(async () => {
    for (const client of clients) client.terminate();
    await stopAllServers();
  });

  test('two idle spares are ready after start, titled "push-websocket worker idle"', async () => {
    const body = await waitFor(async () => {
      const s = await status(server);
      return s.spares.length === 2 && s;
    }, 'two ready spares');
    for (const pid of body.spares) {
      expect(procStat(pid)?.ppid).toBe(server.pid);
      expect(commandLine(pid)).toBe('push-websocket worker idle');
    }
    expect(commandLine(server.pid)).toBe(`push-websocket master 127.0.0.1:${server.port}`);
    await expectChildrenMatchStatus(server);
  });

  test('a client is handed a spare, the spare is replaced, titles follow', async () => {
    const before = await status(server);
    const client = await WsClient.open(server.url);
    clients.push(client);
    const pid = await client.workerPid();
    expect(before.spares).toContain(pid);
    const port =
      client.ws.url &&
      (client.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    const id = Number(/client #(\d+)/.exec(client.messages[0])?.[1]);
    await waitFor(
      () => commandLine(pid) === `push-websocket worker #${id} 127.0.0.1:${port}`,
      'the worker title',
    );
    const after = await waitFor(async () => {
      const s = await status(server);
      return s.spares.length === 2 && s;
    }, 'the spare to be replaced');
    expect(after.spares).not.toContain(pid);
    expect(after.clients.map((c) => c.pid)).toContain(pid);
    await expectChildrenMatchStatus(server);
  });

  test('/status agrees with /proc at every step, and counts pushes', async () => {
    const more = await Promise.all([WsClient.open(server.url), WsClient.open(server.url)]);
    clients.push(...more);
    await Promise.all(more.map((c) => c.waitForMessages(3)));
    await waitFor(async () => (await status(server)).spares.length === 2, 'spares to refill');
    const body = await expectChildrenMatchStatus(server);
    expect(body.clients).toHaveLength(3);
    for (const client of body.clients) {
      expect(client.remote).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(new Date(client.since).toISOString()).toBe(client.since);
      expect(client.pushed).toBeGreaterThanOrEqual(1);
    }
    expect(body.limits).toMatchObject({
      spare_workers: 2,
      spare_workers_max: 2,
      interval_min: 0.05,
      interval_max: 0.1,
    });
    // --spare-workers N alone: the target stays N, clients waiting or not.
    expect(body.spare_target).toBe(2);
    expect(body.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof body.uptime_s).toBe('number');

    more[0].ws.send('quit');
    await more[0].closed();
    await waitFor(
      async () => (await status(server)).clients.length === 2,
      'the quit client to leave /status',
    );
    await expectChildrenMatchStatus(server);
  });

  test('a spare that dies is replaced and logged', async () => {
    const [victim] = (await status(server)).spares;
    process.kill(victim, 'SIGKILL');
    await server.waitForLog(new RegExp(`Idle worker pid ${victim} exited`));
    await waitFor(async () => {
      const s = await status(server);
      return s.spares.length === 2 && !s.spares.includes(victim);
    }, 'a replacement spare');
    await expectChildrenMatchStatus(server);
  });

  test('SIGKILL of one worker: its client is closed, logged, the slot freed; others keep their pushes', async () => {
    const [victim, bystander] = await Promise.all([
      WsClient.open(server.url),
      WsClient.open(server.url),
    ]);
    clients.push(victim, bystander);
    const pid = await victim.workerPid();
    await bystander.waitForMessages(2);
    process.kill(pid, 'SIGKILL');
    await victim.closed();
    await server.waitForLog(new RegExp(`died \\(code null, signal SIGKILL\\).*pid ${pid}`));
    await server.waitForLog(new RegExp(`Client #\\d+ disconnected \\(pid ${pid}\\)`));
    const seen = bystander.messages.length;
    await bystander.waitForMessages(seen + 2);
    const body = await expectChildrenMatchStatus(server);
    expect(body.clients.map((c) => c.pid)).not.toContain(pid);
  });

  test('workers ignore SIGINT (Ctrl-C signals the whole process group)', async () => {
    const client = await WsClient.open(server.url);
    clients.push(client);
    const pid = await client.workerPid();
    process.kill(pid, 'SIGINT');
    const seen = client.messages.length;
    await client.waitForMessages(seen + 2);
    expect(isAlive(pid)).toBe(true);
  });
});

describe('faults', () => {
  afterAll(stopAllServers);

  test('SIGKILL of the master: every worker and spare exits (IPC disconnect)', async () => {
    const server = await startServer([...FAST, '--spare-workers', '2']);
    const clients = await Promise.all([1, 2, 3].map(() => WsClient.open(server.url)));
    await Promise.all(clients.map((c) => c.workerPid()));
    await waitFor(async () => (await status(server)).spares.length === 2, 'spares');
    const workers = server.workerPids();
    expect(workers).toHaveLength(5);
    const killed = Date.now();
    process.kill(server.pid, 'SIGKILL');
    await waitFor(() => workers.every((pid) => !isAlive(pid)), 'every worker to exit', 5000);
    const took = Date.now() - killed;
    expect(took).toBeLessThan(5000);
    for (const client of clients) expect(await client.closed()).toBe(1001);
  });

  test('a worker that cannot start: 503 before the handshake, logged, backed off, still serving', async () => {
    const server = await startServer(['--spare-workers', '2'], {
      env: { PUSH_WEBSOCKET_TEST_WORKER_ENTRY: path.join(ROOT, 'test/fixtures/broken-worker.js') },
    });
    await server.waitForLog(/failed to start: exited before it was ready.*next fork in \d+ ms/);
    const client = await RawClient.connect(server.port);
    client.send(handshakeRequest(server.port));
    expect(await client.responseText()).toMatch(/^HTTP\/1\.1 503 /);
    await server.waitForLog(/503 for 127\.0\.0\.1:\d+/);
    const page = await fetch(`${server.httpUrl}/`);
    expect(page.status).toBe(200);
    // Backing off: the failures are spaced out, not a tight fork loop.
    await server.waitForLog(/next fork in (?:[4-9]\d\d|\d{4,}) ms/, 10000);
    const forks = (server.output.match(/failed to start/g) ?? []).length;
    expect(forks).toBeLessThan(20);
    expect(isAlive(server.pid)).toBe(true);
  });

  test('with --spare-workers 0 a failing fork also gets 503', async () => {
    const server = await startServer(['--spare-workers', '0'], {
      env: { PUSH_WEBSOCKET_TEST_WORKER_ENTRY: path.join(ROOT, 'test/fixtures/broken-worker.js') },
    });
    const client = await RawClient.connect(server.port);
    client.send(handshakeRequest(server.port));
    expect(await client.responseText()).toMatch(/^HTTP\/1\.1 503 /);
    await server.waitForLog(/failed to start/);
  });
});

describe('graceful stop', () => {
  afterAll(stopAllServers);

  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: every client gets close 1001, workers exit, the master exits 0',
    async (signal) => {
      const server = await startServer([...FAST, '--spare-workers', '1']);
      const clients = await Promise.all([1, 2, 3].map(() => WsClient.open(server.url)));
      await Promise.all(clients.map((c) => c.workerPid()));
      const workers = server.workerPids();
      process.kill(server.pid, signal);
      const { code } = await server.exited;
      expect(code).toBe(0);
      for (const client of clients) expect(await client.closed()).toBe(1001);
      for (const pid of workers) expect(isAlive(pid)).toBe(false);
      expect(server.output).toMatch(/Server stopped in \d+ ms/);
    },
  );

  test('Ctrl-C to the whole process group: the master, not the terminal, closes clients with 1001', async () => {
    // Its own process group, as a terminal gives `npm start`.
    const server = await ServerProcess.ours(['--port', '0', ...FAST], { detached: true }).ready();
    try {
      const client = await WsClient.open(server.url);
      await client.workerPid();
      process.kill(-server.pid, 'SIGINT');
      expect(await client.closed()).toBe(1001);
      expect((await server.exited).code).toBe(0);
    } finally {
      await server.stop();
    }
  });

  test('50 clients stop within a generous bound', async () => {
    const server = await startServer([...FAST, '--spare-workers', '2']);
    const clients: WsClient[] = [];
    for (let i = 0; i < 50; i++) clients.push(await WsClient.open(server.url));
    await Promise.all(clients.map((c) => c.workerPid(10000)));
    const started = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const { code } = await server.exited;
    const took = Date.now() - started;
    expect(code).toBe(0);
    expect(took).toBeLessThan(10000);
    const codes = await Promise.all(clients.map((c) => c.closed()));
    expect(new Set(codes)).toEqual(new Set([1001]));
  }, 60000);

  test('a worker that ignores shutdown is killed after the bound, and that is logged', async () => {
    const server = await startServer(['--spare-workers', '0'], {
      env: {
        PUSH_WEBSOCKET_TEST_WORKER_ENTRY: path.join(ROOT, 'test/fixtures/stubborn-worker.js'),
      },
    });
    const { client: raw } = await RawClient.upgrade(server.port);
    expect((await raw.response()).status).toBe(101);
    const [pid] = await waitFor(
      () => server.workerPids().length === 1 && server.workerPids(),
      'the worker',
    );
    process.kill(server.pid, 'SIGTERM');
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(server.output).toMatch(
      new RegExp(`Worker pid ${pid} did not exit in time; sending SIGKILL`),
    );
    expect(isAlive(pid)).toBe(false);
    raw.destroy();
  });
});
