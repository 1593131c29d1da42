import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { published, TOKEN } from '../helpers/channels';
import { shownPublications, showsPublication, launchChromium } from '../helpers/page';
import { isAlive, procStat } from '../helpers/proc';
import {
  ROOT,
  ServerProcess,
  startServer,
  stopAllServers,
  track,
  statusOf,
} from '../helpers/server';
import { HANG_BOUND_MS, waitFor } from '../helpers/wait';

/**
 * The client page in a real Chromium (Debian's, driven by playwright-core): what a
 * person sees, checked against the server's processes in /proc and its log.
 */
const ARTIFACTS = path.join(ROOT, 'artifacts');

interface PageProblems {
  errors: string[];
}

function watch(page: Page): PageProblems {
  const problems: PageProblems = { errors: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.errors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.errors.push(`failed request: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400)
      problems.errors.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return problems;
}

async function shownPid(page: Page): Promise<number> {
  await page.waitForFunction(
    () => /^\d+$/.test(document.getElementById('worker-pid')?.textContent ?? ''),
    null,
    {
      timeout: 10000,
    },
  );
  return Number(await page.textContent('#worker-pid'));
}

async function shownClientId(page: Page): Promise<number> {
  await page.waitForFunction(
    () => /^#\d+$/.test(document.getElementById('client-id')?.textContent ?? ''),
    null,
    {
      timeout: 10000,
    },
  );
  return Number((await page.textContent('#client-id'))?.slice(1));
}

let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
}, 60000);

afterAll(async () => {
  await browser?.close();
  await stopAllServers();
});

describe('the client page in Chromium', () => {
  let server: ServerProcess;
  let context: BrowserContext;

  beforeAll(async () => {
    server = await startServer([
      '--interval-min',
      '0.2',
      '--interval-max',
      '0.4',
      '--spare-workers',
      '2',
    ]);
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  }, 60000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
  });

  test('loads cleanly, shows its worker PID and the pushes as they arrive', async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${server.httpUrl}/`);
    const pid = await shownPid(page);
    expect(procStat(pid)?.ppid).toBe(server.pid);
    await page.waitForFunction(
      () => Number(document.getElementById('push-count')?.textContent) >= 2,
      null,
      {
        timeout: 10000,
      },
    );
    const log = await page.$$eval('#log li .text', (items) =>
      items.map((item) => item.textContent),
    );
    expect(log[0]).toMatch(/^I am waiting 0\.\d+ seconds$/); // newest first
    expect(log).toContain(`Connected to worker PID ${pid} as client #${await shownClientId(page)}`);
    expect(await page.textContent('#state')).toBe('connected');
    expect(
      await page.$$eval('#log li time', (items) =>
        items.every((t) => /\d\d:\d\d:\d\d/.test(t.textContent ?? '')),
      ),
    ).toBe(true);
    // The live /status view lists this client's worker.
    await page.waitForFunction(
      (p) => document.getElementById('status-clients')?.textContent?.includes(String(p)),
      pid,
      {
        timeout: 10000,
      },
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-light.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-dark.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-phone.png'), fullPage: true });
    expect(problems.errors).toEqual([]);
    await page.close();
  }, 60000);

  test('two pages, two worker PIDs; Quit closes and ends the worker; Reconnect gets a new one', async () => {
    const first = await context.newPage();
    const second = await context.newPage();
    const problems = [watch(first), watch(second)];
    await Promise.all([first.goto(`${server.httpUrl}/`), second.goto(`${server.httpUrl}/`)]);
    const [pidA, pidB] = await Promise.all([shownPid(first), shownPid(second)]);
    expect(pidA).not.toBe(pidB);
    expect(procStat(pidB)?.ppid).toBe(server.pid);

    await first.click('#quit');
    await first.waitForFunction(
      () => document.getElementById('state')?.textContent?.startsWith('closed'),
      null,
      {
        timeout: 10000,
      },
    );
    expect(await first.textContent('#state')).toContain('code 1000');
    await waitFor(() => procStat(pidA) === undefined, `worker ${pidA} to exit after Quit`);
    expect(isAlive(pidB)).toBe(true);

    expect(await first.isEnabled('#reconnect')).toBe(true);
    await first.click('#reconnect');
    await first.waitForFunction(
      (old) => {
        const text = document.getElementById('worker-pid')?.textContent ?? '';
        return /^\d+$/.test(text) && text !== String(old);
      },
      pidA,
      { timeout: 10000 },
    );
    const pidC = Number(await first.textContent('#worker-pid'));
    expect(pidC).not.toBe(pidA);
    expect(procStat(pidC)?.ppid).toBe(server.pid);
    for (const p of problems) expect(p.errors).toEqual([]);
    await Promise.all([first.close(), second.close()]);
  }, 60000);

  test('closing a tab sends "quit" (the log shows it) and ends its worker', async () => {
    const page = await context.newPage();
    await page.goto(`${server.httpUrl}/`);
    const pid = await shownPid(page);
    const id = await shownClientId(page);
    await page.close({ runBeforeUnload: true });
    await server.waitForLog(new RegExp(`Client #${id} sent 'quit' \\(pid ${pid}\\)`), 10000);
    await waitFor(() => procStat(pid) === undefined, `worker ${pid} to exit after the tab closed`);
  }, 60000);

  test('"Add another client" opens another page with its own worker', async () => {
    const page = await context.newPage();
    await page.goto(`${server.httpUrl}/`);
    const pid = await shownPid(page);
    const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#add-client')]);
    const popupPid = await shownPid(popup);
    expect(popupPid).not.toBe(pid);
    expect(procStat(popupPid)?.ppid).toBe(server.pid);
    await Promise.all([popup.close(), page.close()]);
  }, 60000);

  test('Send delivers a message the worker logs as an action', async () => {
    const page = await context.newPage();
    await page.goto(`${server.httpUrl}/`);
    const pid = await shownPid(page);
    await page.fill('#message', 'hello from the page');
    await page.click('#send');
    await server.waitForLog(
      new RegExp(`Performing action: hello from the page \\(client #\\d+, pid ${pid}\\)`),
    );
    expect(
      await page.$$eval('#log li.sent .text', (items) => items.map((i) => i.textContent)),
    ).toContain('> hello from the page');
    await page.close();
  }, 60000);

  test('the page shows its channel; the channel box opens a client on another channel', async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${server.httpUrl}/`);
    await shownPid(page);
    expect(await page.textContent('#channel')).toBe('/');
    const tabs = context.pages().length;

    // A name that is not a channel is refused on the page, and no tab opens.
    await page.fill('#channel-input', '/a b');
    await page.click('#open-channel');
    expect(await page.textContent('#channel-error')).toMatch(
      /^Not a channel: character " " is not allowed/,
    );
    expect(context.pages()).toHaveLength(tabs);

    await page.fill('#channel-input', 'news/sport/');
    const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#open-channel')]);
    const popupPid = await shownPid(popup);
    expect(new URL(popup.url()).hash).toBe('#/news/sport');
    expect(await popup.textContent('#channel')).toBe('/news/sport');
    expect(await popup.title()).toBe('push-websocket /news/sport');
    const status = await statusOf<{
      clients: { pid: number; channel: string }[];
    }>(server);
    expect(status.clients.find((client) => client.pid === popupPid)?.channel).toBe('/news/sport');
    await popup.waitForFunction(
      () => document.querySelector('#status-clients tr.mine')?.textContent?.includes('/news/sport'),
      null,
      { timeout: HANG_BOUND_MS },
    );
    expect(problems.errors).toEqual([]);
    await Promise.all([popup.close(), page.close()]);
  }, 60000);

  test('a page URL naming no channel says why and opens no connection', async () => {
    const page = await context.newPage();
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.goto(`${server.httpUrl}/#/a%2Fb`);
    await page.waitForFunction(
      () => document.getElementById('state')?.textContent?.startsWith('closed'),
      null,
      { timeout: HANG_BOUND_MS },
    );
    expect(await page.textContent('#state')).toBe(
      'closed (not a channel: "%2F" is not allowed in a channel)',
    );
    expect(sockets).toEqual([]);
    await page.close();
  }, 60000);
});

/**
 * Reconnection as a person sees it: the server drops the page (its worker killed, or
 * the server restarted), the page comes back by itself with its last offset and epoch,
 * and shows what it missed, or why it cannot. Times are measured and printed.
 */
describe('the page comes back by itself', () => {
  const FLAGS = ['--interval-min', '1', '--interval-max', '2', '--spare-workers', '2'];
  const env = { PUSH_WS_PUBLISH_TOKEN: TOKEN };
  let context: BrowserContext;

  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  });

  afterAll(async () => {
    await context?.close();
    await stopAllServers();
  });

  /** Opens the page on a channel; resolves once it knows its worker and its position. */
  async function openOn(server: ServerProcess, channel: string): Promise<[Page, number]> {
    const page = await context.newPage();
    await page.goto(`${server.httpUrl}/#${channel}`);
    const pid = await shownPid(page);
    await page.waitForFunction(
      () => /^\d+$/.test(document.getElementById('position')?.textContent ?? ''),
      null,
      { timeout: HANG_BOUND_MS },
    );
    return [page, pid];
  }

  async function newWorker(page: Page, old: number): Promise<number> {
    await page.waitForFunction(
      (before) => {
        const text = document.getElementById('worker-pid')?.textContent ?? '';
        return /^\d+$/.test(text) && text !== String(before);
      },
      old,
      { timeout: HANG_BOUND_MS },
    );
    return Number(await page.textContent('#worker-pid'));
  }

  test('pushes, publications of its channel, direct messages and broadcasts are shown apart', async () => {
    const server = await startServer(FLAGS, { env });
    const [page] = await openOn(server, '/news');
    const problems = watch(page);
    const id = await shownClientId(page);
    await published(server, { channel: '/news', data: 'on the news channel' });
    await published(server, { channel: '/other', data: 'not for this page' });
    await published(server, { client: String(id), data: 'just for this page' });
    await published(server, { data: 'to every channel' });
    await page.waitForSelector('#log li.broadcast', { timeout: HANG_BOUND_MS });
    expect(await shownPublications(page)).toEqual([['/news #1', 'on the news channel']]);
    const item = (kind: string): Promise<string[]> =>
      page.$eval(`#log li.${kind}`, (li) => [
        li.querySelector('.tag')?.textContent ?? '',
        li.querySelector('.text')?.textContent ?? '',
      ]);
    expect(await item('direct')).toEqual(['to you', 'just for this page']);
    expect(await item('broadcast')).toEqual(['everyone', 'to every channel']);
    expect(await page.textContent('#published-count')).toBe('3');
    expect(await page.textContent('#position')).toBe('1');
    expect(await page.textContent('body')).not.toContain('not for this page');
    expect(problems.errors).toEqual([]);
    await page.close();
    await server.stop();
  }, 60000);

  test('its worker killed: the page reconnects and shows the 3 messages published meanwhile, once each', async () => {
    const server = await startServer(FLAGS, { env });
    const [page, pid] = await openOn(server, '/news');
    const problems = watch(page);
    await published(server, { channel: '/news', data: 'before the kill' });
    await showsPublication(page, 'before the kill');

    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const missed = ['missed one', 'missed two', 'missed three'];
    for (const data of missed) await published(server, { channel: '/news', data });
    const shown = await page.waitForFunction(
      (texts) => {
        const pubs = [...document.querySelectorAll('#log li.pub .text')].map((e) => e.textContent);
        const notice = document.getElementById('recovery')?.textContent;
        return texts.every((text) => pubs.includes(text)) && notice && Date.now();
      },
      missed,
      { timeout: HANG_BOUND_MS },
    );
    const elapsed = ((await shown.jsonValue()) as number) - killedAt;
    console.log(`worker SIGKILLed -> page showing the 3 recovered messages: ${elapsed} ms`);

    expect(await page.textContent('#recovery')).toBe('recovered 3 messages');
    expect(await shownPublications(page)).toEqual([
      ['/news #1', 'before the kill'],
      ['/news #2', 'missed one'],
      ['/news #3', 'missed two'],
      ['/news #4', 'missed three'],
    ]);
    const events = await page.$$eval('#log li.event .text', (items) =>
      items.map((item) => item.textContent ?? ''),
    );
    expect(events).toContain(
      'Connecting to ' + new URL(server.httpUrl).host + '/news, resuming after offset 1…',
    );
    expect(events.some((text) => /^Connection dropped: code 1006$/.test(text))).toBe(true);
    const again = await newWorker(page, pid);
    expect(procStat(again)?.ppid).toBe(server.pid);
    expect(await page.textContent('#state')).toBe('connected');

    // Live again: the next publication arrives once, after the recovered ones.
    await published(server, { channel: '/news', data: 'after the recovery' });
    await showsPublication(page, 'after the recovery');
    expect((await shownPublications(page)).slice(-1)).toEqual([['/news #5', 'after the recovery']]);
    expect(await page.textContent('#position')).toBe('5');
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-recovered.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({
      path: path.join(ARTIFACTS, 'page-recovered-dark.png'),
      fullPage: true,
    });
    expect(problems.errors).toEqual([]);
    await page.close();
    await server.stop();
  }, 60000);

  test('turned away (server full): the page keeps trying, and gets in once a slot is free', async () => {
    const server = await startServer([...FLAGS, '--max-clients', '1'], { env });
    const [first] = await openOn(server, '/full');
    const second = await context.newPage();
    const problems = watch(second);
    await second.goto(`${server.httpUrl}/#/full`);
    await second.waitForFunction(
      () =>
        document.getElementById('state')?.dataset.state === 'reconnecting' &&
        [...document.querySelectorAll('#log li.event .text')].some(
          (e) => e.textContent === 'Could not connect: code 1006',
        ),
      null,
      { timeout: HANG_BOUND_MS },
    );
    await server.waitForLog(/503/);
    await first.click('#quit');
    const pid = await shownPid(second);
    expect(procStat(pid)?.ppid).toBe(server.pid);
    expect(await second.textContent('#state')).toBe('connected');
    // The refused handshakes (and event streams: the fall-back's tries), and the /healthz
    // probe of an older server: nothing else.
    const unexpected = problems.errors.filter(
      (error) =>
        !/WebSocket connection to .* failed|status of 404|^HTTP 404: .*\/healthz$/.test(error) &&
        !/status of 503|^HTTP 503: http:\/\/[^/]+\/full\?format=json$/.test(error),
    );
    expect(unexpected).toEqual([]);
    await Promise.all([first.close(), second.close()]);
    await server.stop();
  }, 60000);

  test('turned away while workers fail to start: the page waits as /healthz Retry-After says', async () => {
    const server = await startServer(['--spare-workers', '1'], {
      env: { PUSH_WEBSOCKET_TEST_WORKER_ENTRY: path.join(ROOT, 'test/fixtures/broken-worker.js') },
    });
    await server.waitForLog(/failed to start: exited before it was ready/);
    const page = await context.newPage();
    await page.goto(`${server.httpUrl}/`);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#log li.event .text')].some((e) =>
          /^The server asks to wait \d+ s \(Retry-After\)$/.test(e.textContent ?? ''),
        ),
      null,
      { timeout: HANG_BOUND_MS },
    );
    expect(await page.getAttribute('#state', 'data-state')).toBe('reconnecting');
    await page.close();
    await server.stop();
  }, 60000);

  test('an app on another origin: /client.js as a module script, its client gets the publications', async () => {
    const server = await startServer(FLAGS, { env });
    const page = await context.newPage();
    const problems = watch(page);
    // The app's own server: another origin (another port) on the same loopback address.
    const html = `<!doctype html><title>app</title><link rel="icon" href="data:," />
    <script type="module">
      import { PushClient } from '${server.httpUrl}/client.js';
      window.seen = [];
      const client = new PushClient('ws://${server.host}:${server.port}/app');
      client.on('state', (e) => window.seen.push('state ' + e.state));
      client.on('position', (p) => window.seen.push('position ' + p.offset));
      client.on('pub', (p) => window.seen.push('pub ' + p.offset + ' ' + p.data));
      client.connect();
    </script>`;
    const app = http.createServer((req, res) => {
      res.writeHead(req.url === '/' ? 200 : 404, { 'Content-Type': 'text/html' });
      res.end(req.url === '/' ? html : '');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    try {
      const appPort = (app.address() as AddressInfo).port;
      await page.goto(`http://127.0.0.1:${appPort}/`);
      const seen = (): Promise<string[]> =>
        page.evaluate(() => (window as unknown as { seen: string[] }).seen);
      await page.waitForFunction(
        () => (window as unknown as { seen?: string[] }).seen?.includes('position 0'),
        null,
        { timeout: HANG_BOUND_MS },
      );
      await published(server, { channel: '/app', data: 'to the app' });
      await page.waitForFunction(
        () => (window as unknown as { seen: string[] }).seen.includes('pub 1 to the app'),
        null,
        { timeout: HANG_BOUND_MS },
      );
      expect(await seen()).toEqual([
        'state connecting',
        'state open',
        'position 0',
        'pub 1 to the app',
      ]);
      expect(problems.errors).toEqual([]);
      await page.close();
    } finally {
      app.closeAllConnections();
      await new Promise((resolve) => app.close(resolve));
    }
    await server.stop();
  }, 60000);

  test('the server restarted (history lost): the page says it could not recover, and goes on', async () => {
    const first = await startServer(FLAGS, { env });
    const [page, pid] = await openOn(first, '/live');
    const problems = watch(page);
    await published(first, { channel: '/live', data: 'before the restart' });
    await showsPublication(page, 'before the restart');

    const stoppedAt = Date.now();
    const stopping = first.stop();
    await page.waitForFunction(
      () => document.getElementById('state')?.dataset.state === 'reconnecting',
      null,
      { timeout: HANG_BOUND_MS },
    );
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({
      path: path.join(ARTIFACTS, 'page-reconnecting-phone.png'),
      fullPage: true,
    });
    await stopping;
    // The same port, as a restarted service would have.
    const second = await track(
      ServerProcess.ours(['--port', String(first.port), ...FLAGS], {
        env: { ...process.env, ...env },
      }),
    ).ready(HANG_BOUND_MS);
    const readyAt = Date.now();
    const shown = await page.waitForFunction(
      () => document.getElementById('recovery')?.textContent && Date.now(),
      null,
      { timeout: HANG_BOUND_MS + 30000 },
    );
    const noticeAt = (await shown.jsonValue()) as number;
    console.log(
      `server restarted: stop -> notice ${noticeAt - stoppedAt} ms ` +
        `(new server ready ${readyAt - stoppedAt} ms after the stop, page back ${noticeAt - readyAt} ms later)`,
    );
    expect(await page.textContent('#recovery')).toBe('could not recover: epoch changed');
    const again = await newWorker(page, pid);
    expect(procStat(again)?.ppid).toBe(second.pid);
    expect(await page.textContent('#state')).toBe('connected');

    // It goes on in the new stream: a publication shows at offset 1 of the new epoch.
    await published(second, { channel: '/live', data: 'after the restart' });
    await showsPublication(page, 'after the restart');
    expect(await shownPublications(page)).toEqual([
      ['/live #1', 'before the restart'],
      ['/live #1', 'after the restart'],
    ]);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({
      path: path.join(ARTIFACTS, 'page-restarted-phone-dark.png'),
      fullPage: true,
    });
    // While the server was down: refused connections and requests (the event-stream
    // fall-back's too), nothing else.
    const unexpected = problems.errors.filter(
      (error) =>
        !/ERR_CONNECTION_REFUSED|^failed request: http:\/\/[^/]+\/(status|healthz)$/.test(error) &&
        !/^failed request: http:\/\/[^/]+\/live\?format=json&since=\d+&epoch=\w+$/.test(error),
    );
    expect(unexpected).toEqual([]);
    await page.close();
  }, 90000);
});
