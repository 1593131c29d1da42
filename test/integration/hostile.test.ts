import net from 'node:net';
import { isAlive } from '../helpers/proc';
import { RawClient, handshakeRequest } from '../helpers/raw-client';
import { seeded } from '../helpers/seeded';
import { FAST, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

/** A TLS 1.2 ClientHello's first bytes: what a browser sends to https:// on a plain port. */
const TLS_HELLO = Buffer.from('16030100a5010000a10303' + '00'.repeat(32) + '000002c02f0100', 'hex');

async function answerTo(port: number, bytes: string | Buffer): Promise<string> {
  const client = await RawClient.connect(port);
  client.send(bytes);
  return client.responseText();
}

describe('hostile input before the hand-off', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer(['--handshake-timeout', '0.5', '--verbose', ...FAST]);
  });
  afterAll(stopAllServers);

  test.each([
    ['headers over 16 KiB', () => handshakeRequest(0, { 'X-Pad': 'a'.repeat(17 * 1024) }), 431],
    ['a request line that is not HTTP', () => 'HELLO THERE\r\n\r\n', 400],
    ['HTTP/1.0 upgrade', () => handshakeRequest(0).replace('HTTP/1.1', 'HTTP/1.0'), 400],
    ['binary garbage', () => Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 13, 10, 13, 10]), 400],
    ['a TLS ClientHello', () => TLS_HELLO, 400],
    [
      'Upgrade without Connection: Upgrade',
      () => handshakeRequest(0, { Connection: 'keep-alive' }),
      400,
    ],
    ['a request target that is not a URL', () => 'GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    [
      'a POST to a target that is not a URL',
      () => 'POST http://[ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
      400,
    ],
  ])('%s: answered with its status, and the socket closed', async (_name, bytes, status) => {
    const text = await answerTo(server.port, bytes());
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    await server.waitForLog(new RegExp(`${status} for 127\\.0\\.0\\.1:\\d+`));
  });

  test('a slowloris client is closed at --handshake-timeout with a log line', async () => {
    const client = await RawClient.connect(server.port);
    client.send('GET / HTTP/1.1\r\nHost: x\r\n');
    const port = client.socket.localPort;
    const text = await client.responseText(5000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    await server.waitForLog(new RegExp(`Handshake timeout: 127\\.0\\.0\\.1:${port}`));
  });

  test('an empty connection is closed and logged', async () => {
    const client = await RawClient.connect(server.port);
    const port = client.socket.localPort;
    client.destroy();
    await server.waitForLog(
      new RegExp(`Connection from 127\\.0\\.0\\.1:${port} closed without a request`),
    );
  });

  test('500 bad connections in a row harm nobody: a normal client still gets pushes', async () => {
    const kinds: (() => Promise<void>)[] = [
      async () => void (await answerTo(server.port, 'GARBAGE\r\n\r\n')),
      async () => void (await answerTo(server.port, TLS_HELLO)),
      async () =>
        void (await answerTo(server.port, handshakeRequest(0, { 'Sec-WebSocket-Version': '7' }))),
      async () =>
        void (await answerTo(server.port, handshakeRequest(0, { 'Sec-WebSocket-Key': 'x' }))),
      async () => void (await answerTo(server.port, handshakeRequest(0).replace('GET', 'PUT'))),
      async () => {
        const socket = net.connect(server.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.resetAndDestroy();
      },
      async () => {
        // A good handshake then a reset before any frame.
        const client = await RawClient.connect(server.port);
        client.send(handshakeRequest(server.port));
        await client.response();
        client.socket.resetAndDestroy();
      },
    ];
    const watcher = await WsClient.open(server.url);
    const started = Date.now();
    for (let i = 0; i < 500; i++) await kinds[i % kinds.length]();
    expect(Date.now() - started).toBeLessThan(60000);
    const seen = watcher.messages.length;
    await watcher.waitForMessages(seen + 2);
    const fresh = await WsClient.open(server.url);
    await fresh.waitForMessages(3);
    expect(isAlive(server.pid)).toBe(true);
    watcher.terminate();
    fresh.terminate();
  }, 90000);
});

describe('a slowloris flood', () => {
  afterAll(stopAllServers);

  test('250 slowloris sockets give one warn line and one summary line, not 250', async () => {
    const server = await startServer(['--handshake-timeout', '0.5', '--no-demo']);
    const sockets = await Promise.all(
      Array.from({ length: 250 }, async () => {
        const client = await RawClient.connect(server.port);
        client.send('GET / HTTP/1.1\r\nHost: x\r\n');
        return client;
      }),
    );
    const answers = await Promise.all(sockets.map((client) => client.responseText(15000)));
    for (const text of answers) expect(text).toMatch(/^HTTP\/1\.1 408 /);
    const lines = (): string[] =>
      server.output.split('\n').filter((line) => line.includes('Handshake timeout'));
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(/Handshake timeout: 127\.0\.0\.1:\d+ sent no complete request/);
    // The rest, counted at the end of the interval (10 s): one line (two, if the sockets'
    // timeouts straddled an interval's end on a slow machine).
    const counted = (): number =>
      lines()
        .map((line) => /(\d+) more connection\(s\)/.exec(line)?.[1])
        .reduce((sum, count) => sum + Number(count ?? 0), 0);
    await waitFor(() => counted() === 249, 'the summary of 249 more timeouts', 30000, 200);
    expect(lines().length).toBeLessThanOrEqual(3);
  }, 60000);
});

describe('random requests', () => {
  afterAll(stopAllServers);

  const random = seeded('random requests');
  const pick = <T>(items: T[]): T => random.pick(items);
  const methods = ['GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', 'CONNECT', 'PRI'];
  const targets = [
    '/',
    '/status',
    '/publish',
    '*',
    'http://[',
    'http://x/publish',
    '//',
    '/%zz',
    '/?a=%',
    'x',
  ];
  const versions = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTX'];
  const headers = [
    'Host: x',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Connection: keep-alive, Upgrade',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Version: 99',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Key: x',
    'Origin: http://o',
    'Authorization: Bearer random-token-1',
    'Content-Type: application/json',
    'Content-Length: 5',
    'Content-Length: -1',
    'Transfer-Encoding: chunked',
    'Expect: 100-continue',
  ];

  function randomRequest(): Buffer {
    if (random.next() < 0.1) return random.bytes(random.int(200));
    const lines = Array.from({ length: random.int(8) }, () => pick(headers));
    const body = pick(['', '{"data":"x"}', 'hello', '5\r\nhello\r\n0\r\n\r\n']);
    return Buffer.from(
      `${pick(methods)} ${pick(targets)} ${pick(versions)}\r\n${lines.join('\r\n')}\r\n\r\n${body}`,
    );
  }

  test('400 random requests, 10 at a time: the master never falls, a client still gets pushes', async () => {
    const server = await startServer([
      '--handshake-timeout',
      '0.3',
      '--publish-token',
      'random-token-1',
      ...FAST,
    ]);
    const send = (bytes: Buffer): Promise<void> =>
      new Promise((resolve) => {
        const socket = net.connect(server.port, '127.0.0.1', () => socket.write(bytes));
        const timer = setTimeout(() => socket.destroy(), 1000);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.resume();
      });
    for (let i = 0; i < 40; i++)
      await Promise.all(Array.from({ length: 10 }, () => send(randomRequest())));
    expect(isAlive(server.pid)).toBe(true);
    expect(server.output).not.toMatch(/500 for/);
    const client = await WsClient.open(server.url);
    await client.waitForMessages(3);
    client.terminate();
  }, 90000);
});

describe('limits', () => {
  afterAll(stopAllServers);

  test('--max-clients: past it, 503 before any worker is forked', async () => {
    const server = await startServer(['--max-clients', '2', '--spare-workers', '0']);
    const a = await WsClient.open(server.url);
    const b = await WsClient.open(server.url);
    await Promise.all([a.workerPid(), b.workerPid()]);
    const workersBefore = server.workerPids().length;
    const text = await answerTo(server.port, handshakeRequest(server.port));
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(server.workerPids().length).toBe(workersBefore);
    await server.waitForLog(/503 for 127\.0\.0\.1:\d+/);
    a.ws.send('quit');
    await a.closed();
    await server.waitForLog(/Client #1 disconnected/);
    const c = await WsClient.open(server.url);
    await c.workerPid();
    b.terminate();
    c.terminate();
  });

  test('--origin: a handshake from another origin gets 403', async () => {
    const server = await startServer([
      '--origin',
      'https://ok.example',
      '--origin',
      'https://also.example',
    ]);
    const bad = await answerTo(
      server.port,
      handshakeRequest(server.port, { Origin: 'https://evil.example' }),
    );
    expect(bad).toMatch(/^HTTP\/1\.1 403 /);
    const none = await answerTo(server.port, handshakeRequest(server.port));
    expect(none).toMatch(/^HTTP\/1\.1 403 /);
    const good = await RawClient.open(server.port, { Origin: 'https://also.example' });
    await good.nextFrame();
    good.destroy();
    await server.waitForLog(/403 for 127\.0\.0\.1:\d+/);
  });
});
