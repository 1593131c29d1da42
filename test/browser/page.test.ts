import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { isAlive, procStat } from '../helpers/proc';
import { ROOT, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';

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

describe('the client page in Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer([
      '--interval-min',
      '0.2',
      '--interval-max',
      '0.4',
      '--spare-workers',
      '2',
    ]);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  }, 60000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await stopAllServers();
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
});
