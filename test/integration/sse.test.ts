import { spawn } from 'node:child_process';
import net from 'node:net';
import { TOKEN, published } from '../helpers/channels';
import { startServer, stopAllServers, statusOf, type ServerProcess } from '../helpers/server';
import { SseClient } from '../helpers/sse-client';
import { waitFor } from '../helpers/wait';
import { isAlive } from '../helpers/proc';

/** Slow demo pushes: the hello, then nothing for a while. */
const SLOW = ['--interval-min', '30', '--interval-max', '30'];

interface Pub {
  type: 'pub';
  channel: string;
  epoch: string;
  offset: number;
  data: string;
}

describe('Server-Sent Events', () => {
  let server: ServerProcess;
  const open: SseClient[] = [];
  const sse = async (path: string, headers?: Record<string, string>): Promise<SseClient> => {
    const client = await SseClient.open(`${server.httpUrl}${path}`, headers);
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startServer([...SLOW, '--ping-interval', '1', '--history', '50'], {
      env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
    });
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  afterAll(stopAllServers);

  test('the README curl command streams the hello and publications as events', async () => {
    const url = `${server.httpUrl}/news`;
    const curl = spawn('curl', ['-N', '-H', 'Accept: text/event-stream', url], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    curl.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitFor(() => out.includes('Connected to worker PID'), 'the hello through curl');
      await published(server, { channel: '/news', data: 'line one\nline two' });
      await waitFor(() => out.includes('event: pub'), 'the publication through curl');
      // Every served stream starts with retry: and a hello event (what a client counts as open).
      expect(out).toMatch(/^retry: \d+\n\nevent: hello\ndata: \{"type":"hello","client":\d+\}\n\n/);
      expect(out).toMatch(/id: [\w.-]+:0\nevent: position\ndata: \{"type":"position"/);
      expect(out).toMatch(
        /id: [\w.-]+:1\nevent: pub\ndata: \{.*"data":"line one\\nline two"\}\n\n/,
      );
    } finally {
      curl.kill();
    }
  });

  test('the response is a stream: headers, retry, keepalive comments, /status and /metrics', async () => {
    const client = await sse('/sport?transport=sse');
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.headers['transfer-encoding']).toBe('chunked');
    const hello = await client.until((e) => e.event === 'push', 'the hello');
    expect(JSON.parse(hello.data).data).toMatch(/^Connected to worker PID \d+ as client #\d+$/);
    expect(client.retry).toBeGreaterThan(0);
    // --ping-interval 1: a comment each second.
    await waitFor(() => client.comments.includes('keepalive'), 'a keepalive comment', 5000);
    const status = await statusOf<{ clients: { channel: string; transport: string }[] }>(server);
    expect(status.clients).toContainEqual(
      expect.objectContaining({ channel: '/sport', transport: 'sse' }),
    );
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/push_websocket_connections_total\{outcome="sse"\} [1-9]/);
  });

  test('each publication is an event with id EPOCH:OFFSET; a broadcast and a direct keep the id', async () => {
    const client = await sse('/ids');
    const position = await client.until((e) => e.event === 'position', 'the position');
    const answer = await published(server, { channel: '/ids', data: 'one' });
    const pub = await client.until((e) => e.event === 'pub', 'the publication');
    expect(pub.lastEventId).toBe(`${String(answer.epoch)}:${String(answer.offset)}`);
    expect(position.lastEventId).toBe(`${String(answer.epoch)}:${Number(answer.offset) - 1}`);
    await published(server, { data: 'to everyone' });
    const broadcast = await client.until((e) => e.data.includes('to everyone'), 'the broadcast');
    expect(broadcast.lastEventId).toBe(pub.lastEventId);
  });

  test('Last-Event-ID recovers what was missed, once each; the header wins over the query', async () => {
    const first = await sse('/recover');
    await first.until((e) => e.event === 'position', 'the position');
    for (const data of ['a', 'b', 'c', 'd']) await published(server, { channel: '/recover', data });
    await waitFor(() => first.json<Pub>('pub').length === 4 || undefined, 'four publications');
    const [a, , c] = first.events.filter((e) => e.event === 'pub');
    first.close();

    const back = await sse(`/recover?lastEventId=${encodeURIComponent(c.lastEventId)}`, {
      'Last-Event-ID': a.lastEventId,
    });
    const recovery = await back.until((e) => e.event === 'recovery', 'the recovery');
    expect(JSON.parse(recovery.data)).toMatchObject({ recovered: true, count: 3 });
    await waitFor(() => back.json<Pub>('pub').length === 3 || undefined, 'the three missed');
    await published(server, { channel: '/recover', data: 'e' });
    await waitFor(() => back.json<Pub>('pub').length === 4 || undefined, 'the live one');
    expect(back.json<Pub>('pub').map((p) => p.data)).toEqual(['b', 'c', 'd', 'e']);

    // The query forms, for tools: ?lastEventId= and ?since=&epoch=.
    const [epoch, offset] = c.lastEventId.split(':');
    for (const query of [`lastEventId=${epoch}:${offset}`, `since=${offset}&epoch=${epoch}`]) {
      const tool = await sse(`/recover?transport=sse&${query}`);
      await waitFor(() => tool.json<Pub>('pub').length === 2 || undefined, `recovery by ${query}`);
      expect(tool.json<Pub>('pub').map((p) => p.data)).toEqual(['d', 'e']);
    }
  });

  test('a bad Last-Event-ID or format=text is refused with 400 and a reason', async () => {
    const bad = await sse('/x', { 'Last-Event-ID': 'not-a-position' });
    await bad.untilEnded();
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/Last-Event-ID must be EPOCH:OFFSET/);
    const text = await sse('/x?format=text');
    await text.untilEnded();
    expect(text.status).toBe(400);
    await server.waitForLog(/400 for .* GET \/x\?format=text: .* \[BAD_REQUEST\]/);
  });

  test('without origin rules, any page may read a stream, but never with its cookies', async () => {
    const client = await sse('/cors', { Origin: 'https://elsewhere.example' });
    expect(client.status).toBe(200);
    expect(client.headers['access-control-allow-origin']).toBe('*');
    expect(client.headers['access-control-allow-credentials']).toBeUndefined();
  });

  test('a client that leaves ends its worker', async () => {
    const client = await sse('/leaving');
    const hello = await client.until((e) => e.event === 'push', 'the hello');
    const pid = Number(/PID (\d+)/.exec(hello.data)?.[1]);
    expect(isAlive(pid)).toBe(true);
    client.close();
    await waitFor(() => !isAlive(pid), 'the worker to exit');
  });
});

describe('Server-Sent Events: admission as for a WebSocket', () => {
  afterAll(stopAllServers);

  test('--exec output: each line an event; shutdown ends the stream with a close event', async () => {
    const server = await startServer([
      '--exec',
      `/bin/sh -c 'echo one; printf "two\\nthree\\n"; sleep 30'`,
    ]);
    const client = await SseClient.open(`${server.httpUrl}/cmd`);
    await waitFor(() => client.json('push').length === 3 || undefined, 'three lines');
    expect(client.json<{ data: string }>('push').map((p) => p.data)).toEqual([
      'one',
      'two',
      'three',
    ]);
    await server.stop();
    await client.untilEnded();
    expect(client.json('close')).toEqual([
      { type: 'close', code: 1001, reason: 'server shutting down' },
    ]);
  });

  test('an HTTP/1.0 request gets a body that ends with the connection, no chunks', async () => {
    const server = await startServer(SLOW);
    const socket = net.connect(server.port, server.host);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.write('GET /old HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n');
    try {
      await waitFor(() => text.includes('event: push'), 'the hello');
      expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text).toContain('Connection: close\r\n');
      expect(text).not.toMatch(/transfer-encoding/i);
      expect(text).toMatch(/\r\n\r\nretry: \d+\n\nevent: hello\n.*\n\nid: /);
    } finally {
      socket.destroy();
    }
  });

  test('origin rules, --max-clients and refusal codes apply to event streams', async () => {
    const server = await startServer([
      ...SLOW,
      '--origin',
      'https://app.example',
      '--max-clients',
      '1',
    ]);
    const url = `${server.httpUrl}/c`;
    const foreign = await SseClient.open(url, { Origin: 'https://evil.example' });
    await foreign.untilEnded();
    expect(foreign.status).toBe(403);
    const allowed = await SseClient.open(url, { Origin: 'https://app.example' });
    try {
      expect(allowed.status).toBe(200);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      await allowed.until((e) => e.event === 'push', 'the hello');
      const second = await SseClient.open(url, { Origin: 'https://app.example' });
      await second.untilEnded();
      // A browser's EventSource gives up on a 503: a refusal worth retrying is a short
      // stream that says when to come back (retry:) and why (a `refused` event, no hello).
      expect(second.status).toBe(200);
      expect(second.headers['retry-after']).toBeDefined();
      expect(second.retry).toBe(Number(second.headers['retry-after']) * 1000);
      expect(second.events.map((e) => e.event)).toEqual(['refused']);
      expect(second.json('refused')).toEqual([
        {
          type: 'refused',
          status: 503,
          code: 'SERVER_FULL',
          reason: expect.stringMatching(/^Server full/),
          retry_ms: second.retry,
        },
      ]);
      await server.waitForLog(/403 for .* GET \/c: Origin not allowed \[ORIGIN_NOT_ALLOWED\]/);
      await server.waitForLog(/503 for .* GET \/c: Server full .* \[SERVER_FULL\]/);
    } finally {
      allowed.close();
    }
  });

  test('a client that stops reading is ended at --max-buffered, one log line; others go on', async () => {
    const server = await startServer(
      [
        '--no-demo',
        '--max-buffered',
        '65536',
        '--ping-interval',
        '1',
        '--max-message-size',
        '300000',
      ],
      { env: { PUSH_WS_PUBLISH_TOKEN: TOKEN } },
    );
    const reader = await SseClient.open(`${server.httpUrl}/flood`);
    const stalled = await SseClient.open(`${server.httpUrl}/flood`);
    try {
      await reader.until((e) => e.event === 'position', 'the reader in');
      await stalled.until((e) => e.event === 'position', 'the stalled one in');
      stalled.pause();
      const big = 'x'.repeat(200_000);
      let sent = 0;
      const line =
        /send buffer over --max-buffered .*#(\d+)|#(\d+).*send buffer over --max-buffered/;
      // Enough to fill the kernel's buffers both ways, then the worker's.
      while (!line.test(server.output) && sent < 400) {
        await published(server, { channel: '/flood', data: `${sent}:${big}` });
        sent++;
      }
      await server.waitForLog(line);
      await waitFor(
        () => reader.json<Pub>('pub').length === sent || undefined,
        'every publication',
      );
      expect(reader.json<Pub>('pub').map((p) => Number(p.data.split(':')[0]))).toEqual([
        ...Array(sent).keys(),
      ]);
      expect(server.output.match(new RegExp(line.source, 'g'))).toHaveLength(1);
      // Its worker ends it and exits; the reader stays.
      await waitFor(async () => {
        const status = await statusOf<{ clients: unknown[] }>(server);
        return status.clients.length === 1;
      }, 'the stalled client gone');
      await published(server, { channel: '/flood', data: `${sent}:last` });
      await waitFor(() => reader.json<Pub>('pub').length === sent + 1 || undefined, 'the last one');
    } finally {
      reader.close();
      stalled.close();
    }
  });
});
