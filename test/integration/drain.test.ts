import { restartHintMs } from '../../src/client/lib/close-codes';
import { startNginx, stopAllNginx, type NginxProcess } from '../helpers/nginx';
import { procStat } from '../helpers/proc';
import { FAST, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { handshakeRefusal, WsClient } from '../helpers/ws-client';

/**
 * The graceful drain on real servers: SIGQUIT (or POST /drain) turns /healthz and new
 * handshakes to 503, closes every client with 1012 and a reconnect hint, spread over
 * --drain-seconds, and the master exits 0 once they are gone; behind nginx the clients
 * move to the other instance.
 */

const ADMIN = 'drain-admin-token';

afterAll(async () => {
  await stopAllNginx();
  await stopAllServers();
});

async function openClients(url: string, count: number): Promise<WsClient[]> {
  const clients: WsClient[] = [];
  for (let index = 0; index < count; index += 1) {
    const client = await WsClient.open(url);
    await client.workerPid();
    clients.push(client);
  }
  return clients;
}

describe('SIGQUIT drains an instance', () => {
  const CLIENTS = 8;
  const WINDOW_S = 2;

  test('503 on /healthz and new handshakes; clients closed with 1012 over the window; exit 0', async () => {
    const server = await startServer([...FAST, '--drain-seconds', String(WINDOW_S)]);
    const clients = await openClients(server.url, CLIENTS);
    const closedAt: number[] = [];
    for (const client of clients) client.ws.once('close', () => closedAt.push(Date.now()));
    const startedAt = Date.now();
    server.child.kill('SIGQUIT');
    await server.waitForLog(/Draining \(SIGQUIT\).*closing 8 client\(s\) with 1012 over 2 s/);

    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).toMatch(/^Draining/);
    expect(Number(health.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await handshakeRefusal(server.url)).toBe(503);

    const codes = await Promise.all(clients.map((client) => client.closed()));
    expect(codes).toEqual(Array(CLIENTS).fill(1012));
    for (const client of clients) {
      const hint = restartHintMs(client.closeReason ?? '');
      expect(hint).toBeGreaterThanOrEqual(100);
      expect(hint).toBeLessThanOrEqual(1000);
    }
    // Spread, loosely: the schedule spans 1.75 s (8 closes 0.25 s apart), not one moment.
    const spread = Math.max(...closedAt) - Math.min(...closedAt);
    console.log(`drain: ${CLIENTS} closes spread over ${spread} ms (window ${WINDOW_S} s)`);
    expect(spread).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...closedAt) - startedAt).toBeLessThan(WINDOW_S * 1000 + 5000);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output).toMatch(/Drained: every client gone after \d+ ms/);
  }, 40000);

  test('POST /drain needs the admin token; with it, 202 and the same drain', async () => {
    const server = await startServer([...FAST, '--drain-seconds', '0', '--admin-token', ADMIN]);
    const [client] = await openClients(server.url, 1);
    const url = `${server.httpUrl}/drain`;
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    expect(client.closeCode).toBeUndefined();
    const answer = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN}` },
    });
    expect(answer.status).toBe(202);
    expect(await answer.json()).toEqual({ draining: true, started: true, drain_seconds: 0 });
    expect(await client.closed()).toBe(1012);
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 30000);

  test('without --admin-token there is no POST /drain (404)', async () => {
    const server = await startServer(FAST);
    expect((await fetch(`${server.httpUrl}/drain`, { method: 'POST' })).status).toBe(404);
  });
});

/**
 * A client that comes back as the library does after a 1012 (after the hint, plus up
 * to half of it), through nginx, counting every refused handshake it meets.
 */
class Returning {
  client: WsClient | undefined;
  refusals = 0;
  moves = 0;

  constructor(private readonly url: string) {}

  async connect(): Promise<void> {
    for (let tries = 0; tries < 20; tries += 1) {
      try {
        this.client = await WsClient.open(this.url);
        await this.client.workerPid();
        this.client.ws.once('close', (code, reason) => {
          if (code !== 1012) return;
          const hint = restartHintMs(reason.toString()) ?? 500;
          this.moves += 1;
          setTimeout(() => void this.connect(), hint + Math.random() * (hint / 2));
        });
        return;
      } catch (error) {
        if (!/Unexpected server response: 503/.test((error as Error).message)) throw error;
        this.refusals += 1;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}

describe('a drain behind nginx (deploy/nginx/push-websocket-lb.conf)', () => {
  const CLIENTS = 12;
  let draining: ServerProcess;
  let staying: ServerProcess;
  let nginx: NginxProcess;

  beforeAll(async () => {
    [draining, staying] = await Promise.all([
      startServer([...FAST, '--drain-seconds', '3']),
      startServer(FAST),
    ]);
    nginx = await startNginx('push-websocket-lb.conf', {
      upstreams: [draining, staying].map((server) => `${server.host}:${server.port}`),
    });
  }, 30000);

  test('moves every client to the other instance, with few 503s seen', async () => {
    const returning = Array.from(
      { length: CLIENTS },
      () => new Returning(`ws://127.0.0.1:${nginx.httpPort}/`),
    );
    for (const client of returning) await client.connect();
    const parentOf = (client: Returning): number | undefined =>
      client.client?.ws.readyState === 1
        ? procStat(Number(/PID (\d+)/.exec(client.client.messages[0])?.[1]))?.ppid
        : undefined;
    const before = returning.filter((client) => parentOf(client) === draining.pid).length;
    expect(before).toBeGreaterThan(0);

    draining.child.kill('SIGQUIT');
    expect(await draining.exited).toEqual({ code: 0, signal: null });
    // Everyone who was moved is back, on the instance that stays.
    const moved = returning.filter((client) => client.moves > 0);
    expect(moved).toHaveLength(before);
    for (const client of moved) {
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 10000;
        const check = (): void => {
          if (parentOf(client) === staying.pid) resolve();
          else if (Date.now() > deadline) reject(new Error('a moved client did not come back'));
          else setTimeout(check, 50);
        };
        check();
      });
    }
    for (const client of returning) expect(parentOf(client)).toBe(staying.pid);
    const refusals = returning.reduce((sum, client) => sum + client.refusals, 0);
    console.log(`drain behind nginx: ${before} clients moved, ${refusals} handshakes refused`);
    // nginx passes a 503 on to the next instance (proxy_next_upstream http_503).
    expect(refusals).toBeLessThanOrEqual(2);
    for (const client of returning) client.client?.terminate();
  }, 60000);
});
