import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { published, TOKEN } from '../helpers/channels';
import { shownPublications, showsPublication, launchChromium } from '../helpers/page';
import { ROOT, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { hs256Issuer, type Issuer } from '../helpers/tokens';
import { HANG_BOUND_MS } from '../helpers/wait';

/**
 * The page with a token, in a real Chromium: it connects to a private channel with a
 * token fetched from ?token-url=, the token's exp ends the connection (4001), the page
 * fetches a fresh token and comes back with its position, losing nothing published in
 * the gap.
 */
const ARTIFACTS = path.join(ROOT, 'artifacts');

/** The app's token endpoint: mints a token per GET; the test may hold one back. */
class TokenApp {
  readonly calls: { at: number; cookie: string | undefined }[] = [];
  /** The exp of each token given, in ms. */
  readonly expiries: number[] = [];
  private readonly server: http.Server;
  private held: { index: number; release: Promise<void> } | undefined;
  private readonly arrivals: ((count: number) => void)[] = [];

  constructor(issuer: Issuer, expiresInS: (call: number) => number) {
    this.server = http.createServer((req, res) => {
      const index = this.calls.push({ at: Date.now(), cookie: req.headers.cookie });
      for (const wake of this.arrivals.splice(0)) wake(index);
      void (async () => {
        if (this.held?.index === index) await this.held.release;
        const exp = Math.floor(Date.now() / 1000) + expiresInS(index);
        this.expiries[index - 1] = exp * 1000;
        const token = await issuer.sign({ sub: '42', channels: ['/user/42'], exp });
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-store',
          // The page is on another origin (the push server's): CORS with credentials.
          'Access-Control-Allow-Origin': req.headers.origin ?? '*',
          'Access-Control-Allow-Credentials': 'true',
        });
        res.end(JSON.stringify({ token }));
      })();
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/push-token`;
  }

  /** Holds the answer to call `index` until `release` resolves. */
  hold(index: number, release: Promise<void>): void {
    this.held = { index, release };
  }

  /** Resolves once `count` calls have arrived (bounded). */
  called(count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no token call #${count} in ${HANG_BOUND_MS} ms`)),
        HANG_BOUND_MS,
      );
      const check = (seen: number): void => {
        if (seen >= count) {
          clearTimeout(timer);
          resolve();
        } else this.arrivals.push(check);
      };
      check(this.calls.length);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('the page with a token, in Chromium', () => {
  let browser: Browser;
  let server: ServerProcess;
  let app: TokenApp;
  let tokenUrl: string;
  let dir: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-ws-auth-page-'));
    const issuer = hs256Issuer(dir);
    // The first token lives 5 s (whole seconds: 4-5 s: time to load the page and see two
    // publications live, even on a loaded box), the next ones a minute.
    app = new TokenApp(issuer, (call) => (call === 1 ? 5 : 60));
    tokenUrl = await app.listen();
    server = await startServer([
      '--interval-min',
      '5',
      '--interval-max',
      '5',
      '--auth-secret-file',
      issuer.file,
      '--private-channels',
      '/user/*',
      '--auth-leeway',
      '0',
      '--publish-token',
      TOKEN,
    ]);
    browser = await launchChromium();
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await stopAllServers();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('connects to /user/42 with a token; at its exp (4001) gets a fresh one and recovers the gap', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // The second token is held until three publications went out during the gap: held
    // from the start, so that it is held whenever the first token runs out.
    let release: () => void = () => undefined;
    app.hold(2, new Promise<void>((resolve) => (release = resolve)));
    const pageUrl = `${server.httpUrl}/?token-url=${encodeURIComponent(tokenUrl)}#/user/42`;
    await page.goto(pageUrl);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected');
    await published(server, { channel: '/user/42', data: 'before 1' });
    await published(server, { channel: '/user/42', data: 'before 2' });
    await showsPublication(page, 'before 2');
    await page.waitForFunction(
      () => document.getElementById('status-clients')?.textContent?.includes('42'),
      null,
      { timeout: HANG_BOUND_MS },
    );

    await app.called(2);
    expect(
      await page.$$eval('#log li.event .text', (items) => items.map((item) => item.textContent)),
    ).toContain('Connection dropped: code 4001, token expired');
    await server.waitForLog(/token expired, closing with 4001 \(client #\d+, pid \d+, user "42"\)/);
    for (const text of ['gap 1', 'gap 2', 'gap 3']) {
      await published(server, { channel: '/user/42', data: text });
    }
    const releasedAt = Date.now();
    release();
    await page.waitForFunction(
      () => document.getElementById('recovery')?.textContent === 'recovered 3 messages',
      null,
      { timeout: HANG_BOUND_MS },
    );
    const backAt = Date.now();
    console.log(
      `4001 at the token's exp -> fresh token asked ${app.calls[1].at - app.expiries[0]} ms ` +
        `later; page back with the 3 recovered messages ${backAt - releasedAt} ms after it got it`,
    );
    await published(server, { channel: '/user/42', data: 'after' });
    await showsPublication(page, 'after');
    expect(await shownPublications(page)).toEqual([
      ['/user/42 #1', 'before 1'],
      ['/user/42 #2', 'before 2'],
      ['/user/42 #3', 'gap 1'],
      ['/user/42 #4', 'gap 2'],
      ['/user/42 #5', 'gap 3'],
      ['/user/42 #6', 'after'],
    ]);
    expect(await page.textContent('#state')).toBe('connected');
    // Two tokens fetched: the first, and a fresh one after the 4001.
    expect(app.calls).toHaveLength(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-token.png'), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  }, 60000);

  test('without a token URL, the private channel is refused and the page keeps trying', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.httpUrl}/#/user/42`);
    await page.waitForFunction(
      () =>
        /^Could not connect/.test(document.querySelector('#log li.event .text')?.textContent ?? ''),
      null,
      { timeout: HANG_BOUND_MS },
    );
    await server.waitForLog(/401 for \S+ GET \/user\/42\?format=json: no token/);
    await context.close();
  }, 60000);
});
