import {
  accessSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { cpuSeconds } from '../helpers/proc';
import { RawClient, handshakeRequest } from '../helpers/raw-client';
import {
  FAST,
  NODE_ARGS,
  ROOT,
  ServerProcess,
  track,
  stopAllServers,
  statusOf,
} from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/** A TCP connection that sends nothing; resolves once connected or refused/closed. */
function idleConnection(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(socket));
    socket.once('close', () => resolve(socket));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('resource faults of a process-per-client host', () => {
  afterAll(stopAllServers);

  test('out of file descriptors: the master logs once, does not spin, and accepts again when they free up', async () => {
    const server = track(
      ServerProcess.spawn(
        'prlimit',
        ['--nofile=40:40', '--', process.execPath, ...NODE_ARGS, '--port', '0'],
        { cwd: ROOT },
      ),
    );
    await server.ready();
    await server.waitForLog(/Server started/);
    const held = await Promise.all(Array.from({ length: 40 }, () => idleConnection(server.port)));
    await server.waitForLog(/Cannot accept connections: EMFILE/);
    const before = cpuSeconds(server.pid);
    await sleep(2000); // out of descriptors the whole time: a busy loop would burn ~2 s
    const spent = cpuSeconds(server.pid) - before;
    process.stdout.write(`EMFILE: master used ${spent.toFixed(2)} CPU s in 2 s\n`);
    expect(spent).toBeLessThan(0.5);
    expect(server.output.match(/Cannot accept connections/g)).toHaveLength(1);
    const freedAt = Date.now();
    for (const socket of held) socket.destroy();
    const client = await waitFor(
      () => WsClient.open(server.url, 2000).catch(() => undefined),
      'a client accepted again',
    );
    await client.workerPid();
    process.stdout.write(
      `EMFILE: serving again ${Date.now() - freedAt} ms after descriptors freed\n`,
    );
    await server.waitForLog(/Accepting connections again: \d+ of 40 descriptors open/);
    client.terminate();
    await server.stop();
  }, 40_000);

  const PIDS = '/sys/fs/cgroup/pids';
  const cgroupsWritable = ((): boolean => {
    try {
      accessSync(PIDS, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  })();
  const withCgroups = cgroupsWritable ? test : test.skip;
  if (!cgroupsWritable) {
    process.stdout.write(`skipped: fork failure test needs a writable ${PIDS} (cgroup v1 pids)\n`);
  }

  withCgroups(
    'fork fails (process limit reached): 503 with Retry-After, logged once per burst, served again when processes free up',
    async () => {
      const server = track(
        ServerProcess.ours(['--port', '0', '--spare-workers', '0', ...FAST], { cwd: ROOT }),
      );
      await server.ready();
      const first = await WsClient.open(server.url);
      await first.workerPid();
      await fetch(`${server.httpUrl}/status`);
      // A cgroup of its own with no room for one more task: the next fork gets EAGAIN.
      const group = mkdtempSync(path.join(PIDS, 'push-websocket-test-'));
      try {
        for (const pid of [server.pid, ...server.workerPids()]) {
          writeFileSync(path.join(group, 'cgroup.procs'), String(pid));
        }
        const current = readFileSync(path.join(group, 'pids.current'), 'utf8').trim();
        writeFileSync(path.join(group, 'pids.max'), current);

        for (let i = 0; i < 4; i++) {
          const answer = await RawClient.connect(server.port);
          answer.send(handshakeRequest(server.port));
          const head = await answer.response();
          expect(head.status).toBe(503);
          expect(head.headers['retry-after']).toMatch(/^\d+$/);
          answer.destroy();
        }
        await server.waitForLog(/Cannot fork a worker: EAGAIN/);
        expect(server.output.match(/Cannot fork a worker/g)).toHaveLength(1);

        first.ws.send('quit'); // its worker exits: room for one more
        await first.closed();
        const freedAt = Date.now();
        const again = await waitFor(
          () => WsClient.open(server.url, 2000).catch(() => undefined),
          'a client served again',
        );
        await again.workerPid();
        process.stdout.write(
          `fork failure: serving again ${Date.now() - freedAt} ms after a worker exited\n`,
        );
        await server.waitForLog(/Workers start again after \d+ failure/);
        again.terminate();
      } finally {
        await server.stop();
        rmdirSync(group);
      }
    },
    40_000,
  );

  test('a worker that stops answering (SIGSTOP): /status answers in bound, others keep pushes, a stop SIGKILLs it', async () => {
    const server = track(ServerProcess.ours(['--port', '0', ...FAST], { cwd: ROOT }));
    await server.ready();
    const frozen = await WsClient.open(server.url);
    const frozenPid = await frozen.workerPid();
    const other = await WsClient.open(server.url);
    await other.workerPid();
    process.kill(frozenPid, 'SIGSTOP');
    const asked = Date.now();
    const status = await statusOf<{
      clients: { pid: number; pushed: number | null; responding: boolean }[];
    }>(server);
    const took = Date.now() - asked;
    process.stdout.write(`SIGSTOP: /status answered in ${took} ms\n`);
    expect(took).toBeLessThan(2000); // the bound: 500 ms per round, one round
    expect(status.clients.find((c) => c.pid === frozenPid)).toMatchObject({
      pushed: null,
      responding: false,
    });
    expect(status.clients.find((c) => c.pid !== frozenPid)?.responding).toBe(true);
    const seen = other.messages.length;
    await other.until((m) => m.length >= seen + 5, 'pushes to the other client');

    const stopping = Date.now();
    const { code } = await server.stop();
    const stoppedIn = Date.now() - stopping;
    expect(code).toBe(0);
    expect(stoppedIn).toBeLessThan(6000); // 3 s grace, then SIGKILL
    expect(server.output).toMatch(
      new RegExp(`Worker pid ${frozenPid} did not exit in time; sending SIGKILL`),
    );
    expect(await other.closed()).toBe(1001);
  }, 30_000);

  test('503 answers carry Retry-After: server full', async () => {
    const server = track(
      ServerProcess.ours(['--port', '0', '--max-clients', '1', ...FAST], { cwd: ROOT }),
    );
    await server.ready();
    const one = await WsClient.open(server.url);
    await one.workerPid();
    const answer = await RawClient.connect(server.port);
    answer.send(handshakeRequest(server.port));
    const head = await answer.response();
    expect(head.status).toBe(503);
    expect(Number(head.headers['retry-after'])).toBeGreaterThan(0);
    one.terminate();
    await server.stop();
  });
});
