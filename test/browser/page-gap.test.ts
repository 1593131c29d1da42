import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { type Browser, type Page } from 'playwright-core';
import { TOKEN, published } from '../helpers/channels';
import { shownPublications, showsPublication, launchChromium } from '../helpers/page';
import { startRedis, stopAllRedis, type RedisProcess } from '../helpers/redis';
import { startServer, statusOf, stopAllServers, type ServerProcess } from '../helpers/server';
import { HANG_BOUND_MS, waitFor } from '../helpers/wait';

/**
 * An unfillable gap in live delivery, as a person sees it in the page: instance A loses
 * its Redis link while instance B publishes more than the history keeps (3), so when A
 * is back its relay can fetch only the last 3 and tells the page the rest are lost.
 */

const run = promisify(execFile);
const PASSWORD = 'gap-test-secret';

async function redisCli(redis: RedisProcess, ...args: string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/redis-cli', ['-p', String(redis.port), ...args], {
    timeout: HANG_BOUND_MS,
    // The password travels in the environment of redis-cli only, never its argv.
    env: { ...process.env, REDISCLI_AUTH: PASSWORD },
  });
  return stdout;
}

const backplane = async (server: ServerProcess): Promise<string> =>
  (await statusOf<{ backplane: { state: string } }>(server)).backplane.state;

async function instance(redis: RedisProcess): Promise<ServerProcess> {
  const server = await startServer(['--no-demo', '--redis', redis.url, '--history', '3'], {
    env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
  });
  await waitFor(async () => (await backplane(server)) === 'up', 'the backplane up');
  return server;
}

/** Every line of the page's log, oldest first: [class, tag, text]. */
function logLines(page: Page): Promise<string[][]> {
  return page.$$eval('#log li', (items) =>
    items
      .map((item) => [
        item.className,
        item.querySelector('.tag')?.textContent ?? '',
        item.querySelector('.text')?.textContent ?? '',
      ])
      .reverse(),
  );
}

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60000);

afterAll(async () => {
  await browser?.close();
  await stopAllServers();
  await stopAllRedis();
});

test('the page shows publications lost for good, then goes on live', async () => {
  const redis = await startRedis();
  const a = await instance(redis);
  const b = await instance(redis);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${a.httpUrl}/#/news`);
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('#log li .text')].some((e) =>
        e.textContent?.startsWith('Subscribed to /news at offset'),
      ),
    null,
    { timeout: HANG_BOUND_MS },
  );
  const first = await published(b, { channel: '/news', data: 'before' });
  await showsPublication(page, 'before');

  // B's connections stay (authenticated already); A's are closed, and A cannot come back
  // while Redis asks for a password A does not have.
  await redisCli(redis, 'CONFIG', 'SET', 'requirepass', PASSWORD);
  await killConnectionsOf(redis, a);
  await waitFor(async () => (await backplane(a)) !== 'up', 'A’s backplane down');

  const during: number[] = [];
  for (let i = 1; i <= 6; i++) {
    const ack = await published(b, { channel: '/news', data: `during ${i}` });
    during.push(ack.offset as number);
  }
  expect(during).toEqual([1, 2, 3, 4, 5, 6].map((i) => (first.offset as number) + i));

  await redisCli(redis, 'CONFIG', 'SET', 'requirepass', '');
  await waitFor(async () => (await backplane(a)) === 'up', 'A’s backplane up again');
  await showsPublication(page, 'during 6');
  await published(b, { channel: '/news', data: 'after' });
  await showsPublication(page, 'after');

  const o = first.offset as number;
  const lines = await logLines(page);
  const from = lines.findIndex(([, , text]) => text === 'before');
  const tail = lines
    .slice(from)
    .filter(([kind]) => kind === 'received pub' || kind.startsWith('notice'));
  expect(tail).toEqual([
    ['received pub', `/news #${o}`, 'before'],
    ['notice bad', '', `Lost offsets ${o + 1}-${o + 3} (offset too old)`],
    ['received pub', `/news #${o + 4}`, 'during 4'],
    ['received pub', `/news #${o + 5}`, 'during 5'],
    ['received pub', `/news #${o + 6}`, 'during 6'],
    ['received pub', `/news #${o + 7}`, 'after'],
  ]);
  expect((await shownPublications(page)).map(([, text]) => text)).toEqual([
    'before',
    'during 4',
    'during 5',
    'during 6',
    'after',
  ]);
  expect(await page.textContent('#state')).toBe('connected');
  expect(errors).toEqual([]);
  await context.close();
}, 90000);

/**
 * Closes every Redis connection of a server's master: its sockets (/proc/PID/fd) that are
 * TCP connections to Redis's port (/proc/net/tcp), by their local address.
 */
async function killConnectionsOf(redis: RedisProcess, server: ServerProcess): Promise<void> {
  const inodes = new Set(
    readdirSync(`/proc/${server.pid}/fd`)
      .map((fd) => /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${server.pid}/fd/${fd}`)))
      .flatMap((match) => (match ? [match[1]] : [])),
  );
  const hexPort = (hex: string): number => parseInt(hex.split(':')[1], 16);
  const addresses = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9 && inodes.has(f[9]) && hexPort(f[2]) === redis.port)
    .map((f) => `127.0.0.1:${hexPort(f[1])}`);
  if (addresses.length === 0) throw new Error(`no Redis connection of PID ${server.pid}`);
  for (const address of addresses) await redisCli(redis, 'CLIENT', 'KILL', 'ADDR', address);
}

/** A descriptor may close between listing and reading it. */
function safeReadlink(file: string): string {
  try {
    return readlinkSync(file);
  } catch {
    return '';
  }
}
