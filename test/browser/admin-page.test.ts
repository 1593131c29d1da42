import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../helpers/page';
import { ROOT, startServer, stopAllServers, type ServerProcess } from '../helpers/server';

/**
 * The client page in Chromium on a server with --admin-token: the page cannot read
 * /status, so instead of a broken table it says, in one line, why there is none, and
 * the rest of the page works as ever.
 */
const ARTIFACTS = path.join(ROOT, 'artifacts');

describe('the client page when /status needs the admin token', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer(['--interval-min', '0.2', '--interval-max', '0.4'], {
      env: { PUSH_WS_ADMIN_TOKEN: 'browser-admin-token' },
    });
    browser = await launchChromium();
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await stopAllServers();
  });

  test('hides the process table behind one line, and still pushes', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const statusAnswers: number[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === '/status') statusAnswers.push(response.status());
    });
    await page.goto(`${server.httpUrl}/`);
    await page.waitForSelector('#status-private', { state: 'visible', timeout: 10000 });
    expect((await page.textContent('#status-private'))?.trim()).toMatch(
      /^The process table needs the admin token/,
    );
    expect(await page.isVisible('#status-table')).toBe(false);
    expect(await page.isVisible('#status-spares')).toBe(false);
    await page.waitForFunction(
      () => Number(document.getElementById('push-count')?.textContent) >= 2,
      null,
      { timeout: 10000 },
    );
    expect(await page.textContent('#state')).toBe('connected');
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-admin-token.png'), fullPage: true });
    // It asked once, was told 401, and stopped asking (no log line every 2 s): 12 pushes
    // 0.2-0.4 s apart span more than one 2 s polling period.
    await page.waitForFunction(
      () => Number(document.getElementById('push-count')?.textContent) >= 12,
      null,
      { timeout: 10000 },
    );
    expect(statusAnswers).toEqual([401]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60000);
});
