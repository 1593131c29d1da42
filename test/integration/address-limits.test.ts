import { rawHttp, type RawAnswer } from '../helpers/raw-http';
import { startServer, statusOf, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/**
 * --max-clients-per-ip and --connect-rate on the real server. Every test connects from
 * 127.0.0.1; with --trust-proxy 127.0.0.1 an X-Forwarded-For header names the client,
 * which stands in for other addresses.
 */

const UPGRADE = {
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
};

/** A handshake from `address` answered with a refusal (the 101 is not read here). */
const refusedFrom = (server: ServerProcess, address: string): Promise<RawAnswer> =>
  rawHttp(server.port, '/', { ...UPGRADE, 'X-Forwarded-For': address });

const openFrom = (server: ServerProcess, address: string): Promise<WsClient> =>
  WsClient.open(server.url, undefined, { headers: { 'X-Forwarded-For': address } });

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

describe('per-address limits', () => {
  const clients: WsClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await stopAllServers();
  });

  test('--max-clients-per-ip: one address past N gets 429 with Retry-After, others still connect, and one line per burst', async () => {
    const server = await startServer([
      '--trust-proxy',
      '127.0.0.1',
      '--max-clients-per-ip',
      '2',
      '--spare-workers',
      '1',
    ]);
    clients.push(await openFrom(server, '203.0.113.7'), await openFrom(server, '203.0.113.7'));
    const answers: RawAnswer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await refusedFrom(server, '203.0.113.7'));
    for (const answer of answers) {
      expect(answer.status).toBe(429);
      expect(answer.headers['retry-after']).toBe('5');
      expect(answer.body).toBe('Too many clients from your address\n');
    }
    // Another address is not shut out.
    clients.push(await openFrom(server, '203.0.113.8'));
    await server.waitForLog(/429 for 203\.0\.113\.7 .*holds --max-clients-per-ip 2 clients/);
    expect(count(server.output, /429 for 203\.0\.113\.7/g)).toBe(1);
    // A client of that address leaves: its place is free again.
    clients[0].terminate();
    await waitFor(
      async () => (await statusOf<{ clients: unknown[] }>(server)).clients.length === 2,
      'the client gone from /status',
    );
    clients.push(await openFrom(server, '203.0.113.7'));
    const status = await statusOf<{ limits: { max_clients_per_ip: number } }>(server);
    expect(status.limits.max_clients_per_ip).toBe(2);
  });

  test('--max-clients-per-ip counts the peer when no trusted proxy speaks for it', async () => {
    const server = await startServer(['--max-clients-per-ip', '1']);
    clients.push(await WsClient.open(server.url));
    // Forged headers from an untrusted peer change nothing: still 127.0.0.1.
    const answer = await refusedFrom(server, '198.51.100.9');
    expect(answer.status).toBe(429);
    await server.waitForLog(/holds --max-clients-per-ip 1 clients/);
  });

  test('--connect-rate: past the burst one address gets 429 with Retry-After, one log line for the whole burst', async () => {
    const server = await startServer([
      '--trust-proxy',
      '127.0.0.1',
      '--connect-rate',
      '0.2:3',
      '--no-demo',
    ]);
    for (let i = 0; i < 3; i++) {
      const client = await openFrom(server, '198.51.100.1');
      clients.push(client);
    }
    const answers: RawAnswer[] = [];
    for (let i = 0; i < 20; i++) answers.push(await refusedFrom(server, '198.51.100.1'));
    for (const answer of answers) {
      expect(answer.status).toBe(429);
      // One token every 5 s.
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(5);
    }
    // Another address has a bucket of its own.
    clients.push(await openFrom(server, '198.51.100.2'));
    await server.waitForLog(/429 for 198\.51\.100\.1 .*over --connect-rate 0\.2\/s:3/);
    expect(count(server.output, /429 for 198\.51\.100\.1/g)).toBe(1);
    // The summary of the burst, at the end of its interval (10 s).
    await server.waitForLog(
      /429 for 198\.51\.100\.1: 19 more handshake\(s\) over --connect-rate/,
      20_000,
    );
  }, 40_000);
});
