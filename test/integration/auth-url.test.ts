import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HookRequest } from '../../src/master/auth/auth-hook';
import { upgradeOn as upgrade } from '../helpers/raw-http';
import { FAST, startServer, statusOf, stopAllServers, type ServerProcess } from '../helpers/server';
import { WsClient } from '../helpers/ws-client';

/**
 * --auth-url against a real HTTP backend started here: what it is sent, and how each
 * of its answers (200, 401, 403, an error, silence) decides the connection.
 */

/** What the backend is sent: the server's own request type. */
type Asked = HookRequest;

/** The app's side: answers by the session cookie's value. */
class Backend {
  readonly asked: Asked[] = [];
  private readonly server: http.Server;
  private readonly silent = new Set<http.ServerResponse>();

  constructor() {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const asked = JSON.parse(body) as Asked;
        this.asked.push(asked);
        const session = /session=(\w+)/.exec(asked.cookie ?? '')?.[1];
        const json = (status: number, value: unknown): void => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(value));
        };
        switch (session) {
          case 'alice':
            return json(200, { user: 'alice', channels: ['/user/alice'] });
          case 'brief':
            return json(200, {
              user: 'bob',
              channels: ['/user/*'],
              expire_at: Date.now() / 1000 + 1.5,
            });
          case 'forbidden':
            return json(403, { error: 'banned' });
          case 'broken':
            return json(500, { error: 'database down' });
          case 'silent':
            this.silent.add(res); // never answers: the server's --auth-timeout must
            return;
          default:
            return json(401, { error: 'no session' });
        }
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ws-auth`;
  }

  async close(): Promise<void> {
    for (const res of this.silent) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('--auth-url', () => {
  const backend = new Backend();
  let server: ServerProcess;

  beforeAll(async () => {
    const url = await backend.listen();
    server = await startServer([
      ...FAST,
      '--auth-url',
      url,
      '--auth-timeout',
      '0.5',
      '--private-channels',
      '/user/*',
    ]);
  });
  afterAll(async () => {
    await stopAllServers();
    await backend.close();
  });

  test('200 admits on its terms: the user in /status, what the app was sent', async () => {
    const client = await WsClient.open(
      `ws://${server.host}:${server.port}/user/alice?format=json`,
      undefined,
      {
        headers: { Cookie: 'session=alice', Origin: 'http://app.example', 'User-Agent': 'ua/1' },
      },
    );
    await client.waitForMessages(1);
    const { clients } = await statusOf<{ clients: { user: string | null }[] }>(server);
    expect(clients.map((c) => c.user)).toEqual(['alice']);
    expect(backend.asked.at(-1)).toEqual({
      path: '/user/alice?format=json',
      channel: '/user/alice',
      cookie: 'session=alice',
      authorization: null,
      origin: 'http://app.example',
      user_agent: 'ua/1',
      remote_addr: '127.0.0.1',
    });
    client.terminate();
  });

  test("a private channel the app's channels do not grant: 403", async () => {
    const answer = await upgrade(server, '/user/bob', { Cookie: 'session=alice' });
    expect([answer.status, answer.body.trim()]).toEqual([403, 'not allowed on this channel']);
  });

  test('401 and 403 from the app refuse with that status', async () => {
    expect((await upgrade(server, '/news')).status).toBe(401);
    expect((await upgrade(server, '/news', { Cookie: 'session=forbidden' })).status).toBe(403);
  });

  test('an app error, or no answer in --auth-timeout: 503 with Retry-After, one log line', async () => {
    const broken = await upgrade(server, '/news', { Cookie: 'session=broken' });
    expect([broken.status, broken.headers['retry-after']]).toEqual([503, '5']);
    await server.waitForLog(
      /503 for \S+ GET \/news: Authentication unavailable, try again later \(--auth-url answered 500\)/,
    );
    expect(server.output.match(/answered 500/g)).toHaveLength(1);
    const started = Date.now();
    const silent = await upgrade(server, '/news', { Cookie: 'session=silent' });
    expect([silent.status, silent.headers['retry-after']]).toEqual([503, '5']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await server.waitForLog(/\(--auth-url no answer within 500 ms\)/);
  });

  test('expire_at ends the connection with 4001', async () => {
    const client = await WsClient.open(`ws://${server.host}:${server.port}/user/bob`, undefined, {
      headers: { Cookie: 'session=brief' },
    });
    const reason = new Promise<string>((resolve) =>
      client.ws.once('close', (_code, text) => resolve(String(text))),
    );
    expect(await client.closed()).toBe(4001);
    expect(await reason).toBe('token expired');
  });
});
