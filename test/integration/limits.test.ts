import { encodeFrame } from '../../src/shared/protocol/frame';
import { Opcode } from '../../src/shared/protocol/constants';
import { childrenOf, commandLine, isAlive, rssBytes, wakeUps } from '../helpers/proc';
import { RawClient } from '../helpers/raw-client';
import { FAST, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

const MASK = Buffer.from([0x11, 0x22, 0x33, 0x44]);

/** A batch of masked pings with the largest control payload (125 bytes): 64 KiB or so. */
function pingBatch(): Buffer {
  const ping = encodeFrame(Opcode.Ping, Buffer.alloc(125, 0x61), { mask: MASK });
  return Buffer.concat(Array.from({ length: Math.floor(65536 / ping.length) }, () => ping));
}

/** Writes pings as fast as the socket takes them, never reading, until `ms` pass. */
async function floodPings(client: RawClient, ms: number): Promise<number> {
  const batch = pingBatch();
  const end = Date.now() + ms;
  let sent = 0;
  while (Date.now() < end && !client.closed) {
    sent += batch.length;
    if (!client.socket.write(batch)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, end - Date.now()));
        client.socket.once('drain', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  return sent;
}

describe('one client cannot exhaust the box', () => {
  let server: ServerProcess;

  afterAll(stopAllServers);

  test('a ping flood from a client that never reads: its worker stays small, others keep their pushes', async () => {
    server = await startServer([...FAST, '--max-buffered', '65536']);
    const bystander = await WsClient.open(server.url);
    await bystander.workerPid();

    const flooder = await RawClient.open(server.port);
    const hello = (await flooder.nextFrame()).payload.toString();
    const pid = Number(/PID (\d+)/.exec(hello)?.[1]);
    expect(pid).toBeGreaterThan(0);
    flooder.socket.pause(); // never reads again: its receive window fills

    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(pid) ?? 0);
    }, 100);
    const gaps: number[] = [];
    let last = Date.now();
    const onPush = (): void => {
      const now = Date.now();
      gaps.push(now - last);
      last = now;
    };
    bystander.ws.on('message', onPush);
    const sent = await floodPings(flooder, 12_000);
    clearInterval(sampler);
    bystander.ws.off('message', onPush);

    process.stdout.write(
      `ping flood: ${(sent / 2 ** 20).toFixed(1)} MiB sent in 12 s, worker peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB\n`,
    );
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(100 * 2 ** 20);
    // The bystander's pushes come every 0.05-0.1 s; a second without one would be a stall.
    expect(gaps.length).toBeGreaterThan(50);
    expect(Math.max(...gaps)).toBeLessThan(1000);
    flooder.destroy();
  }, 40_000);

  test('a client that stays over --max-buffered for a ping interval is closed with 1008', async () => {
    const quick = await startServer([...FAST, '--max-buffered', '65536', '--ping-interval', '1']);
    const flooder = await RawClient.open(quick.port);
    const pid = Number(/PID (\d+)/.exec((await flooder.nextFrame()).payload.toString())?.[1]);
    flooder.socket.pause();
    void floodPings(flooder, 10_000);
    await quick.waitForLog(
      new RegExp(`send buffer over --max-buffered for 1000 ms .*closing with 1008.*pid ${pid}`),
    );
    await quick.waitForLog(new RegExp(`Client #\\d+ disconnected \\(pid ${pid}\\)`));
    flooder.destroy();
  }, 30_000);

  test('--worker-memory-limit: a worker over it closes its client with 1011, logs why, and exits', async () => {
    const limited = await startServer([
      '--exec',
      'yes flood',
      '--max-buffered',
      String(2 ** 31 - 1),
      '--worker-memory-limit',
      '100',
    ]);
    const reader = await RawClient.open(limited.port);
    reader.socket.pause(); // never reads: the command's lines pile up in the worker
    const pid = await waitFor(
      () => limited.workerPids().find((p) => childrenOf(p).length > 0),
      'the worker with its command',
    );
    const command = childrenOf(pid)[0].pid;
    await limited.waitForLog(
      new RegExp(
        `worker RSS \\d+ MB is over --worker-memory-limit 100 MB, closing with 1011.*pid ${pid}`,
      ),
    );
    await waitFor(() => !isAlive(pid) && !isAlive(command), 'the worker and its command to exit');
    await limited.waitForLog(new RegExp(`Client #\\d+ disconnected \\(pid ${pid}\\)`));
    reader.destroy();
  }, 40_000);

  test("the memory ceiling looks after activity only: an idle client's worker sleeps", async () => {
    const quiet = await startServer(['--no-demo', '--spare-workers', '0']);
    const client = await RawClient.open(quiet.port);
    const pid = await waitFor(
      () =>
        quiet
          .workerPids()
          .find((p) => commandLine(p)?.startsWith('push-websocket worker #') === true),
      'the worker serving the client',
    );
    // No pushes, keepalive every 30 s: past the one look a second after the hand-off,
    // nothing should wake the worker. (A window to count in, not a wait for an event.)
    const window = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await window(1500);
    const before = wakeUps(pid);
    await window(3000);
    const after = wakeUps(pid);
    expect(before).toBeDefined();
    expect(after! - before!).toBeLessThanOrEqual(1);
    client.destroy();
  }, 20_000);
});
