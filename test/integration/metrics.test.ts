import path from 'node:path';
import { promtoolCheck, sample, scrape } from '../helpers/metrics';
import { wakeUps } from '../helpers/proc';
import { RawClient, handshakeRequest } from '../helpers/raw-client';
import { FAST, ROOT, ServerProcess, startServer, stopAllServers, track } from '../helpers/server';
import { waitFor } from '../helpers/wait';
import { WsClient } from '../helpers/ws-client';

const PUBLISH_TOKEN = 'publish-token-for-metrics';
const ORIGIN = 'http://allowed.example';

const UPGRADED = 'push_websocket_connections_total{outcome="upgraded"}';
const REFUSED_403 = 'push_websocket_connections_total{outcome="403"}';
const QUIT = 'push_websocket_disconnects_total{code="1000",side="server"}';
const CLIENT_CLOSED = 'push_websocket_disconnects_total{code="1000",side="client"}';
const KILLED = 'push_websocket_disconnects_total{code="1006",side="server"}';

/** A series' value, 0 when it is not exposed yet (a labelled counter appears on first use). */
const value = (body: string, series: string): number => sample(body, series) ?? 0;

describe('GET /metrics of the real server', () => {
  let server: ServerProcess;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    server = await startServer([
      ...FAST,
      '--spare-workers',
      '1',
      '--origin',
      ORIGIN,
      '--publish-token',
      PUBLISH_TOKEN,
    ]);
  });
  afterAll(async () => {
    for (const client of clients) client.terminate();
    await stopAllServers();
  });

  async function connect(): Promise<WsClient> {
    const client = await WsClient.open(server.url, undefined, { origin: ORIGIN });
    clients.push(client);
    await client.workerPid();
    return client;
  }

  /** Scrapes until `condition` holds on a scrape; returns that scrape. */
  function scrapeUntil(condition: (body: string) => boolean, what: string): Promise<string> {
    return waitFor(async () => {
      const body = await scrape(server);
      return condition(body) && body;
    }, what);
  }

  test('values move as clients connect, are refused, get a publish and leave', async () => {
    const before = await scrape(server);
    expect(value(before, 'push_websocket_clients')).toBe(0);

    const [first, second] = [await connect(), await connect()];
    let body = await scrape(server);
    expect(value(body, 'push_websocket_clients')).toBe(2);
    expect(value(body, 'push_websocket_workers{state="serving"}')).toBe(2);
    expect(value(body, UPGRADED) - value(before, UPGRADED)).toBe(2);
    // Read from /proc at most once a second: a reading from before the clients may linger.
    await scrapeUntil(
      (now) => value(now, 'push_websocket_worker_memory_bytes') > 10 * 1024 * 1024,
      'the workers’ memory to be read',
    );
    expect(value(body, 'push_websocket_backplane_up')).toBe(1);
    expect(value(body, 'push_websocket_channels')).toBe(1); // both on the root channel

    // Each worker says so after its first frame: the IPC message may trail the frame.
    await scrapeUntil(
      (now) => value(now, 'push_websocket_first_push_seconds_count') === 2,
      'both first pushes to be timed',
    );
    // The spares taken are replaced: more start-ups are timed.
    await scrapeUntil(
      (now) =>
        value(now, 'push_websocket_worker_start_seconds_count') >
          value(before, 'push_websocket_worker_start_seconds_count') &&
        value(now, 'push_websocket_workers{state="idle"}') === 1,
      'a replacement spare to be ready',
    );

    const refused = await RawClient.connect(server.port);
    refused.send(handshakeRequest(server.port, { Origin: 'http://elsewhere.example' }));
    expect(await refused.responseText()).toMatch(/^HTTP\/1\.1 403 /);
    body = await scrape(server);
    expect(value(body, REFUSED_403)).toBe(1);
    expect(value(body, UPGRADED) - value(before, UPGRADED)).toBe(2);

    const published = await fetch(`${server.httpUrl}/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${PUBLISH_TOKEN}` },
      body: 'counted once',
    });
    expect(await published.json()).toEqual({ queued: 2 });
    await waitFor(
      () => [first, second].every((client) => client.messages.includes('counted once')),
      'the publish to reach both clients',
    );
    body = await scrape(server);
    expect(value(body, 'push_websocket_published_messages_total')).toBe(1);

    first.ws.send('quit');
    expect(await first.closed()).toBe(1000);
    second.ws.close(1000);
    expect(await second.closed()).toBe(1000);
    body = await scrapeUntil(
      (now) => value(now, QUIT) === 1 && value(now, CLIENT_CLOSED) === 1,
      'both disconnects to be counted',
    );
    expect(value(body, 'push_websocket_clients')).toBe(0);
    expect(value(body, 'push_websocket_workers{state="serving"}')).toBe(0);
    // Every data frame the two clients received, counted from the workers' goodbyes.
    expect(value(body, 'push_websocket_frames_sent_total')).toBe(
      first.messages.length + second.messages.length,
    );
  });

  test('frames sent grow with a live client (report rounds), and a killed worker counts as 1006', async () => {
    const before = await scrape(server);
    const client = await connect();
    await client.waitForMessages(4);
    const received = client.messages.length;
    await scrapeUntil(
      (now) =>
        value(now, 'push_websocket_frames_sent_total') -
          value(before, 'push_websocket_frames_sent_total') >=
        received,
      'the frames of a live client to be counted',
    );
    const pid = Number(/PID (\d+)/.exec(client.messages[0])?.[1]);
    process.kill(pid, 'SIGKILL');
    await client.closed();
    const body = await scrapeUntil(
      (now) => value(now, KILLED) === 1,
      'the killed worker to be counted',
    );
    expect(value(body, 'push_websocket_clients')).toBe(0);
  });

  test('a real scrape passes promtool check metrics with no output at all', async () => {
    const body = await scrape(server);
    expect(body).toMatch(/^process_cpu_seconds_total \d/m);
    const result = await promtoolCheck(body);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  test('each refusal is counted and logged under its own stable code', async () => {
    const refusals = (body: string, code: string): number =>
      value(body, `push_websocket_refusals_total{code="${code}"}`);
    const before = await scrape(server);
    const handshake = async (path: string, origin = ORIGIN): Promise<string> => {
      const raw = await RawClient.connect(server.port);
      raw.send(handshakeRequest(server.port, { Origin: origin }, path));
      return raw.responseText();
    };
    expect(await handshake('/', 'http://elsewhere.example')).toMatch(/^HTTP\/1\.1 403 /);
    expect(await handshake('/a//b')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await handshake('/?since=1')).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${server.httpUrl}/nowhere`)).status).toBe(404);
    expect((await fetch(`${server.httpUrl}/status`, { method: 'PUT' })).status).toBe(405);
    const publish = (headers: Record<string, string>, body: string): Promise<Response> =>
      fetch(`${server.httpUrl}/publish`, { method: 'POST', headers, body });
    expect((await publish({}, 'x')).status).toBe(401);
    const auth = { Authorization: `Bearer ${PUBLISH_TOKEN}`, 'Content-Type': 'application/json' };
    expect((await publish(auth, '{"data":"x","channel":"/a//b"}')).status).toBe(400);
    expect((await publish(auth, '{"data":7}')).status).toBe(400);
    const body = await scrape(server);
    const expected: [string, number][] = [
      ['ORIGIN_NOT_ALLOWED', 1],
      ['BAD_CHANNEL', 2],
      ['BAD_REQUEST', 2],
      ['NOT_FOUND', 1],
      ['METHOD_NOT_ALLOWED', 1],
      ['UNAUTHORIZED', 1],
    ];
    for (const [code, count] of expected) {
      expect([code, refusals(body, code) - refusals(before, code)]).toEqual([code, count]);
    }
    await server.waitForLog(
      /400 for 127\.0\.0\.1:\d+ GET \/a\/\/b: Bad channel: .* \[BAD_CHANNEL\]/,
    );
    await server.waitForLog(/401 for 127\.0\.0\.1:\d+ POST \/publish: .* \[UNAUTHORIZED\]/);
  });
});

describe('an idle master', () => {
  afterAll(stopAllServers);

  // Regression: prom-client samples the event-loop delay with a timer, every 10 ms unless
  // told otherwise, so a master with no client and no request woke 100 times a second.
  test('sleeps: the event-loop sampler wakes it about 10 times a second, not 100', async () => {
    const server = await startServer(['--spare-workers', '0']);
    // A window to count in, not a wait for an event: nothing else is due in it.
    const window = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await window(500);
    const before = wakeUps(server.pid);
    await window(3000);
    const after = wakeUps(server.pid);
    expect(before).toBeDefined();
    const perSecond = (after! - before!) / 3;
    console.log(`idle master: ${perSecond.toFixed(1)} wake-ups a second`);
    expect(perSecond).toBeLessThan(25);
  }, 20_000);
});

describe('--admin-token', () => {
  const TOKEN = 'admin-token-for-tests';
  let server: ServerProcess;

  beforeAll(async () => {
    // From the environment, as a systemd EnvironmentFile gives it.
    server = await startServer([...FAST, '--spare-workers', '1'], {
      env: { PUSH_WS_ADMIN_TOKEN: TOKEN },
    });
  });
  afterAll(stopAllServers);

  test.each(['/status', '/metrics'])(
    '%s: 401 with a Bearer challenge without the token or with a wrong one, 200 with it',
    async (endpoint) => {
      const wrong: Record<string, string>[] = [{}, { Authorization: 'Bearer not-the-admin-token' }];
      for (const headers of wrong) {
        const response = await fetch(`${server.httpUrl}${endpoint}`, { headers });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
        expect(await response.text()).toMatch(/admin token/);
      }
      await server.waitForLog(new RegExp(`401 for 127\\.0\\.0\\.1:\\d+ GET ${endpoint}`));
      const allowed = await fetch(`${server.httpUrl}${endpoint}`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(allowed.status).toBe(200);
      await allowed.text();
    },
  );

  test('/healthz and the page stay open', async () => {
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    const page = await fetch(`${server.httpUrl}/`);
    expect(page.status).toBe(200);
  });

  test('the page, told 401 by /status, hides its process table behind one line of explanation', async () => {
    const page = await (await fetch(`${server.httpUrl}/`)).text();
    expect(page).toMatch(
      /<p[^>]*id="status-private"[^>]*hidden[^>]*>\s*The process table needs the admin token/,
    );
    expect(page).toMatch(/if \(response\.status === 401\) return statusPrivate\(\);/);
    const handler = /function statusPrivate\(\) \{([^}]*)\}/.exec(page)?.[1] ?? '';
    // The page's script is bundled (esbuild writes double quotes): either quote matches.
    expect(handler).toMatch(/\$\(['"]status-table['"]\)\.hidden = true;/);
    expect(handler).toMatch(/\$\(['"]status-private['"]\)\.hidden = false;/);
  });

  test('the token is in no log line and not in any worker environment or command line', async () => {
    const pids = await waitFor(
      () => server.workerPids().length > 0 && server.workerPids(),
      'a spare worker',
    );
    const { readFileSync } = await import('node:fs');
    for (const pid of [...pids, server.pid]) {
      expect(readFileSync(`/proc/${pid}/cmdline`, 'latin1')).not.toContain(TOKEN);
    }
    for (const pid of pids) {
      expect(readFileSync(`/proc/${pid}/environ`, 'latin1')).not.toContain(TOKEN);
    }
    expect(server.output).not.toContain(TOKEN);
  });
});

describe('admin warning and usage error', () => {
  afterAll(stopAllServers);

  test('without a token on a non-loopback --host, a warning at start says /status is open', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface: the warning comes before the listen fails.
    const server = track(ServerProcess.ours(['--host', '192.0.2.1', '--port', '0']));
    expect((await server.exited).code).toBe(1);
    expect(server.output).toMatch(/GET \/status shows every client's address.*--admin-token/);
    expect(server.output).toMatch(/Cannot listen on 192\.0\.2\.1/);
  });

  test('a short admin token is a one-line usage error', async () => {
    const server = track(
      ServerProcess.ours(['--port', '0'], {
        env: { ...process.env, PUSH_WS_ADMIN_TOKEN: 'short' },
      }),
    );
    expect((await server.exited).code).toBe(2);
    expect(server.output.trim().split('\n')).toEqual([
      'push-websocket: --admin-token must be at least 8 characters, without spaces',
    ]);
  });

  test('no warning on loopback', async () => {
    const server = await startServer([]);
    expect(server.output).not.toMatch(/--admin-token/);
  });
});

describe('GET /healthz', () => {
  afterAll(stopAllServers);

  test('200 ok while the server accepts and has workers', async () => {
    const server = await startServer(['--spare-workers', '1']);
    const response = await fetch(`${server.httpUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe('ok\n');
  });

  test('503 with Retry-After while the pool backs off after failed starts', async () => {
    const server = await startServer(['--spare-workers', '1'], {
      env: { PUSH_WEBSOCKET_TEST_WORKER_ENTRY: path.join(ROOT, 'test/fixtures/broken-worker.js') },
    });
    await server.waitForLog(/failed to start: exited before it was ready/);
    // Between two failed starts the pool is trying again (a fork in flight): poll for the back-off.
    const response = await waitFor(async () => {
      const answer = await fetch(`${server.httpUrl}/healthz`);
      if (answer.status === 503) return answer;
      await answer.text();
      return undefined;
    }, 'a 503 from /healthz');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await response.text()).toMatch(/failing to start/);
  });

  test('503 while draining on shutdown (a worker that ignores shutdown keeps the master draining)', async () => {
    const server = await startServer(['--spare-workers', '0'], {
      env: {
        PUSH_WEBSOCKET_TEST_WORKER_ENTRY: path.join(ROOT, 'test/fixtures/stubborn-worker.js'),
      },
    });
    const { client } = await RawClient.upgrade(server.port);
    expect((await client.response()).status).toBe(101);
    // A prober's request, half sent before the SIGTERM, completed while the master drains.
    const prober = await RawClient.connect(server.port);
    prober.send('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    process.kill(server.pid, 'SIGTERM');
    await server.waitForLog(/Received SIGTERM/);
    prober.send('\r\n');
    const text = await prober.responseText();
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toMatch(/\r\nRetry-After: \d+\r\n/i);
    expect(text).toMatch(/Server shutting down/);
    expect((await server.exited).code).toBe(0);
    client.destroy();
  });
});
