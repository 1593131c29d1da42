import { type Browser, type Page } from 'playwright-core';
import { TOKEN, published } from '../helpers/channels';
import { startNginx, stopAllNginx } from '../helpers/nginx';
import { isAlive } from '../helpers/proc';
import { startRedis, stopAllRedis } from '../helpers/redis';
import { launchChromium, showsPublication } from '../helpers/page';
import { startServer, statusOf, stopAllServers, type ServerProcess } from '../helpers/server';
import { HANG_BOUND_MS, waitFor } from '../helpers/wait';

/**
 * Chromium's own EventSource against the server, directly and through nginx: its
 * automatic reconnect sends Last-Event-ID, and the server recovers from history what
 * the stream missed while its worker was killed or the server restarted.
 */

interface Got {
  type: string;
  id: string;
  data: string;
}

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60000);

afterAll(async () => {
  await browser?.close();
  await stopAllNginx();
  await stopAllServers();
  await stopAllRedis();
});

/** A page of `origin` (its /healthz: no client of its own) with an EventSource on `path`. */
async function eventSource(origin: string, path: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${origin}/healthz`);
  await page.evaluate((url) => {
    const got: Got[] = [];
    const opens: number[] = [];
    Object.assign(window, { got, opens });
    const source = new EventSource(url);
    source.onopen = () => opens.push(Date.now());
    for (const type of ['hello', 'pub', 'recovery', 'position', 'push', 'gap', 'refused']) {
      source.addEventListener(type, (event) => {
        const message = event as MessageEvent<string>;
        got.push({ type, id: message.lastEventId, data: message.data });
      });
    }
  }, path);
  return page;
}

const gotOf = (page: Page): Promise<Got[]> =>
  page.evaluate(() => (window as never as { got: Got[] }).got);
const opensOf = (page: Page): Promise<number> =>
  page.evaluate(() => (window as never as { opens: number[] }).opens.length);

/** The data of the page's `pub` events, in order. */
async function pubs(page: Page): Promise<string[]> {
  return (await gotOf(page))
    .filter((e) => e.type === 'pub')
    .map((e) => (JSON.parse(e.data) as { data: string }).data);
}

async function untilPubs(page: Page, count: number, what: string): Promise<string[]> {
  return waitFor(async () => {
    const seen = await pubs(page);
    return seen.length >= count && seen;
  }, what);
}

/** The pid of the worker serving the one client of `channel`. */
async function workerOf(server: ServerProcess, channel: string): Promise<number> {
  return waitFor(async () => {
    const status = await statusOf<{
      clients: { channel: string; pid: number; transport: string }[];
    }>(server);
    const client = status.clients.find((c) => c.channel === channel && c.transport === 'sse');
    return client?.pid;
  }, `the worker of ${channel}`);
}

/**
 * Publications 1..3 live, the worker SIGKILLed, 4..6 while the stream is down, 7 after
 * the reconnect: each exactly once, in order.
 */
async function killWorkerMidway(
  server: ServerProcess,
  publishTo: ServerProcess,
  origin: string,
): Promise<void> {
  const page = await eventSource(origin, '/killed');
  await waitFor(async () => (await gotOf(page)).some((e) => e.type === 'position'), 'the position');
  for (const n of [1, 2, 3]) await published(publishTo, { channel: '/killed', data: `m${n}` });
  await untilPubs(page, 3, 'three live');
  const pid = await workerOf(server, '/killed');
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !isAlive(pid), 'the worker dead');
  for (const n of [4, 5, 6]) await published(publishTo, { channel: '/killed', data: `m${n}` });
  // EventSource reconnects by itself (retry:), with Last-Event-ID.
  await waitFor(async () => (await opensOf(page)) >= 2, 'the reconnect', HANG_BOUND_MS);
  const recovery = await waitFor(
    async () => (await gotOf(page)).find((e) => e.type === 'recovery'),
    'the recovery event',
  );
  expect(JSON.parse(recovery.data)).toMatchObject({ recovered: true, count: 3 });
  await published(publishTo, { channel: '/killed', data: 'm7' });
  expect(await untilPubs(page, 7, 'all seven')).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
  await page.context().close();
}

test('a SIGKILLed worker: EventSource reconnects with Last-Event-ID, nothing lost or repeated', async () => {
  const server = await startServer(['--no-demo', '--ping-interval', '2'], {
    env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
  });
  await killWorkerMidway(server, server, server.httpUrl);
});

test('a server restart (--redis history): EventSource recovers what was published meanwhile', async () => {
  const redis = await startRedis();
  const args = ['--no-demo', '--redis', redis.url];
  const env = { PUSH_WS_PUBLISH_TOKEN: TOKEN };
  const a = await startServer(args, { env });
  const b = await startServer(args, { env }); // publishes while a is down
  const page = await eventSource(a.httpUrl, '/restart');
  await waitFor(async () => (await gotOf(page)).some((e) => e.type === 'position'), 'the position');
  await published(b, { channel: '/restart', data: 'before' });
  await untilPubs(page, 1, 'the first');
  const port = a.port;
  await a.stop();
  for (const n of [1, 2]) await published(b, { channel: '/restart', data: `down${n}` });
  const again = await startServer(args, { env, port });
  // Not "opened twice": a new server not ready yet (no worker, history not readable)
  // answers a stream too, which opens, says `refused` and ends (docs/sse.md); the
  // browser comes back after its retry:. The recovery says the stream is served.
  await waitFor(
    async () => (await gotOf(page)).some((e) => e.type === 'recovery'),
    'the recovery from the new server',
  );
  await published(b, { channel: '/restart', data: 'after' });
  expect(await untilPubs(page, 4, 'all four')).toEqual(['before', 'down1', 'down2', 'after']);
  const recovery = (await gotOf(page)).find((e) => e.type === 'recovery');
  expect(JSON.parse(recovery?.data ?? '{}')).toMatchObject({ recovered: true, count: 2 });
  await page.context().close();
  await again.stop();
  // A hang bound: Redis, two servers, a page, a stop and a start take 15-25 s on a loaded box.
}, 90_000);

test('a full server: a raw EventSource is refused as a stream, comes back, and is served', async () => {
  const server = await startServer(['--no-demo', '--max-clients', '1'], {
    env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
  });
  const occupant = await eventSource(server.httpUrl, '/full');
  await waitFor(async () => (await gotOf(occupant)).some((e) => e.type === 'hello'), 'a hello');
  const page = await eventSource(server.httpUrl, '/full');
  const refused = await waitFor(
    async () => (await gotOf(page)).find((e) => e.type === 'refused'),
    'the refused event',
  );
  expect(JSON.parse(refused.data)).toMatchObject({ status: 503, code: 'SERVER_FULL' });
  expect((await gotOf(page)).some((e) => e.type === 'hello')).toBe(false);
  await occupant.context().close();
  // A 503 would have ended it for good; the stream's retry: brings it back (5 s).
  await waitFor(
    async () => (await gotOf(page)).some((e) => e.type === 'hello'),
    'the hello once a slot is free',
    HANG_BOUND_MS,
  );
  await published(server, { channel: '/full', data: 'served' });
  expect(await untilPubs(page, 1, 'the publication')).toEqual(['served']);
  await page.context().close();
}, 60_000);

describe('through nginx', () => {
  test('deploy/nginx/push-websocket-lb.conf: EventSource events come unbuffered; a killed worker is recovered', async () => {
    const server = await startServer(['--no-demo', '--ping-interval', '2'], {
      env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
    });
    const other = await startServer(['--no-demo'], { env: { PUSH_WS_PUBLISH_TOKEN: TOKEN } });
    // Both upstream lines point at the one server: least_conn is not what is tested here.
    const nginx = await startNginx('push-websocket-lb.conf', {
      upstreams: [`${server.host}:${server.port}`, `${server.host}:${server.port}`],
    });
    await killWorkerMidway(server, server, `http://127.0.0.1:${nginx.httpPort}`);
    await other.stop();
  });

  test('the page falls back to EventSource behind a proxy that refuses WebSockets, and says so', async () => {
    const server = await startServer(['--no-demo'], { env: { PUSH_WS_PUBLISH_TOKEN: TOKEN } });
    // A proxy that passes plain HTTP only (no Upgrade), as some corporate proxies do.
    const nginx = await startNginx('../../test/fixtures/nginx-no-upgrade.conf', {
      upstreams: [`${server.host}:${server.port}`],
    });
    const page = await (await browser.newContext()).newPage();
    await page.goto(`http://127.0.0.1:${nginx.httpPort}/#/fallback`);
    await page.waitForFunction(
      () => document.getElementById('transport')?.textContent === 'Server-Sent Events',
      undefined,
      { timeout: HANG_BOUND_MS },
    );
    await published(server, { channel: '/fallback', data: 'over SSE' });
    await showsPublication(page, 'over SSE');
    await page.context().close();
  });
});

test('?transport=sse forces the page onto Server-Sent Events; it shows publications', async () => {
  const server = await startServer(['--no-demo'], { env: { PUSH_WS_PUBLISH_TOKEN: TOKEN } });
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.httpUrl}/?transport=sse#/forced`);
  await page.waitForFunction(
    () => document.getElementById('transport')?.textContent === 'Server-Sent Events',
    undefined,
    { timeout: HANG_BOUND_MS },
  );
  await published(server, { channel: '/forced', data: 'forced' });
  await showsPublication(page, 'forced');
  const status = await statusOf<{ clients: { transport: string }[] }>(server);
  expect(status.clients.map((c) => c.transport)).toEqual(['sse']);
  await page.context().close();
});
