import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RawClient } from '../helpers/raw-client';
import { rawHttp } from '../helpers/raw-http';
import { writeScript } from '../helpers/script';
import { startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { WsClient } from '../helpers/ws-client';

/**
 * The HTTP side a websocketd user relies on, through the real server: --dir routes
 * (and their 404s), --staticdir files, --header/--header-ws/--header-http, and the
 * --origin forms and --same-origin. Hostile targets go out as raw bytes.
 */

let base: string;
let server: ServerProcess;

/** Prints where the request landed, then echoes lines. */
const WHERE = 'echo "SCRIPT_NAME=$SCRIPT_NAME"; echo "PATH_INFO=$PATH_INFO"; exec cat';

beforeAll(async () => {
  base = mkdtempSync(path.join(os.tmpdir(), 'push-ws-http-'));
  const scripts = path.join(base, 'scripts');
  const site = path.join(base, 'site');
  const outside = path.join(base, 'outside');
  for (const dir of [scripts, path.join(scripts, 'sub'), path.join(scripts, 'empty'), site]) {
    mkdirSync(dir, { recursive: true });
  }
  mkdirSync(path.join(site, 'sub'));
  mkdirSync(outside);
  writeScript(path.join(scripts, 'where.sh'), WHERE);
  writeScript(path.join(scripts, 'sub', 'deep.sh'), WHERE);
  writeScript(path.join(scripts, '.hidden.sh'), WHERE);
  writeFileSync(path.join(scripts, 'plain.txt'), 'not executable\n');
  writeScript(path.join(outside, 'evil.sh'), 'echo escaped');
  symlinkSync(path.join(outside, 'evil.sh'), path.join(scripts, 'link-out.sh'));
  symlinkSync(path.join(scripts, 'where.sh'), path.join(scripts, 'link-in.sh'));

  writeFileSync(path.join(site, 'index.html'), '<h1>my app</h1>\n');
  writeFileSync(path.join(site, 'app.js'), 'console.log(1);\n');
  writeFileSync(path.join(site, 'style.css'), 'h1 {}\n');
  writeFileSync(path.join(site, 'sub', 'page.html'), '<p>page</p>\n');
  writeFileSync(path.join(site, '.secret'), 'hidden\n');
  writeFileSync(path.join(outside, 'secret.txt'), 'outside secret\n');
  symlinkSync(path.join(outside, 'secret.txt'), path.join(site, 'link-out.txt'));

  server = await startServer([
    '--dir',
    scripts,
    '--staticdir',
    site,
    '--header',
    'X-All: every answer',
    '--header-ws',
    'X-Ws: upgrades only',
    '--header-http',
    'X-Http: plain only',
  ]);
});

afterAll(async () => {
  await stopAllServers();
  rmSync(base, { recursive: true, force: true });
});

describe('--dir: the script the path names', () => {
  test.each([
    ['/where.sh', '/where.sh', ''],
    ['/where.sh/room/a%20b?x=1', '/where.sh', '/room/a b'],
    ['/sub/deep.sh/x', '/sub/deep.sh', '/x'],
    ['/link-in.sh', '/link-in.sh', ''],
  ])('%s runs with SCRIPT_NAME %s and PATH_INFO %j', async (target, scriptName, pathInfo) => {
    const client = await WsClient.open(`ws://127.0.0.1:${server.port}${target}`);
    await client.waitForMessages(2);
    expect(client.messages.slice(0, 2)).toEqual([
      `SCRIPT_NAME=${scriptName}`,
      `PATH_INFO=${pathInfo}`,
    ]);
    client.ws.send('quit'); // no quit words with --dir: the script sees it
    await client.until((messages) => messages.includes('quit'), 'the echo of quit');
    client.terminate();
  });

  test.each([
    ['/missing.sh', 'no such script'],
    ['/', 'no script named'],
    ['/empty', 'no script named'],
    ['/plain.txt', 'not executable'],
    ['/.hidden.sh', 'path refused'],
    ['/sub/../where.sh', 'path refused'],
    ['/%2e%2e/outside/evil.sh', 'path refused'],
    ['/sub%2fdeep.sh', 'path refused'],
    ['/where.sh%00', 'path refused'],
    ['/link-out.sh', 'script outside the directory'],
  ])('%s is a 404 (logged: %s)', async (target, reason) => {
    const answer = await RawClient.upgrade(server.port, {}, target);
    expect(answer.status).toBe(404);
    const shown = target.replace(/[.?*+^$[\]\\(){}|-]/g, '\\$&');
    await server.waitForLog(new RegExp(`404 for \\S+ GET ${shown}: no script \\(${reason}`));
  });
});

describe('--staticdir: the app’s own files over plain HTTP', () => {
  test('/ is the directory’s index.html, in place of the demo page', async () => {
    const answer = await rawHttp(server.port, '/');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('<h1>my app</h1>\n');
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  test.each([
    ['/app.js', /^(text|application)\/javascript/, 'console.log(1);\n'],
    ['/style.css', /^text\/css/, 'h1 {}\n'],
    ['/sub/page.html', /^text\/html/, '<p>page</p>\n'],
  ])('%s with its Content-Type', async (target, type, body) => {
    const answer = await rawHttp(server.port, target);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(type);
    expect(answer.body).toBe(body);
  });

  test('ETag and Last-Modified; a conditional GET gets 304 with no body', async () => {
    const first = await rawHttp(server.port, '/app.js');
    expect(first.headers.etag).toMatch(/^W\/".+"$/);
    expect(first.headers['last-modified']).toMatch(/GMT$/);
    const again = await rawHttp(server.port, '/app.js', { 'If-None-Match': first.headers.etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  test('the built-in routes keep their paths', async () => {
    const answer = await rawHttp(server.port, '/status');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
  });

  test.each([
    '/../outside/secret.txt',
    '/%2e%2e/outside/secret.txt',
    '/sub%2fpage.html',
    '/sub%5cpage.html',
    '/app.js%00',
    '/.secret',
    '/link-out.txt',
    '/missing.html',
  ])('%s is a 404, never a file outside or hidden', async (target) => {
    const answer = await rawHttp(server.port, target);
    expect(answer.status).toBe(404);
    expect(answer.body).not.toMatch(/secret|hidden/);
  });

  test('a directory is redirected to its slash form', async () => {
    const answer = await rawHttp(server.port, '/sub');
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe('/sub/');
  });
});

describe('--header, --header-ws, --header-http', () => {
  test('the 101 has --header and --header-ws', async () => {
    const { status, headers, client } = await RawClient.upgrade(server.port, {}, '/where.sh');
    expect(status).toBe(101);
    expect(headers['x-all']).toBe('every answer');
    expect(headers['x-ws']).toBe('upgrades only');
    expect(headers['x-http']).toBeUndefined();
    client.destroy();
  });

  test.each([
    ['a static file', '/app.js', 200],
    ['/status', '/status', 200],
    ['a 404', '/nothing-here', 404],
  ])('plain HTTP (%s) has --header and --header-http', async (_what, target, status) => {
    const answer = await rawHttp(server.port, target);
    expect(answer.status).toBe(status);
    expect(answer.headers['x-all']).toBe('every answer');
    expect(answer.headers['x-http']).toBe('plain only');
    expect(answer.headers['x-ws']).toBeUndefined();
  });

  test('a refused upgrade is plain HTTP too', async () => {
    const { status, headers } = await RawClient.upgrade(server.port, {}, '/missing.sh');
    expect(status).toBe(404);
    expect(headers['x-http']).toBe('plain only');
    expect(headers['x-ws']).toBeUndefined();
  });
});

describe('origins', () => {
  test.each([
    [undefined, 403],
    ['null', 403],
    ['http://a.test', 101],
    ['https://a.test:8443', 101],
    ['http://b.test:8080', 101],
    ['http://b.test', 403],
    ['https://c.test', 101],
    ['http://c.test', 403],
    ['http://evil.test', 403],
  ])('--origin a.test,b.test:8080 --origin https://c.test; Origin %s: %d', async (origin, want) => {
    const listed = await origins();
    const headers: Record<string, string> = origin === undefined ? {} : { Origin: origin };
    const { status, client } = await RawClient.upgrade(listed.port, headers);
    expect(status).toBe(want);
    client.destroy();
  });

  test('--same-origin: the Origin’s host:port must be the Host header’s', async () => {
    const same = await startServer(['--no-demo', '--same-origin']);
    const host = `127.0.0.1:${same.port}`;
    const cases: [Record<string, string>, number][] = [
      [{ Origin: `http://${host}` }, 101],
      [{ Origin: `https://${host}` }, 101],
      [{ Origin: 'http://127.0.0.1' }, 403],
      [{ Origin: `http://localhost:${same.port}` }, 403],
      [{ Host: 'a.test', Origin: 'http://a.test' }, 101],
      [{ Host: 'a.test', Origin: 'http://a.test:81' }, 403],
      [{}, 403],
    ];
    for (const [headers, want] of cases) {
      const { status, client } = await RawClient.upgrade(same.port, headers);
      expect([headers, status]).toEqual([headers, want]);
      client.destroy();
    }
  });

  test('--same-origin alone admits a DNS-rebinding page (its Origin matches its Host); --origin refuses it', async () => {
    // A page at http://rebind.example:PORT whose name now resolves to this server: the
    // browser sends that Host and that Origin, so --same-origin cannot tell (docs/cli.md).
    const rebinding = (port: number): Record<string, string> => ({
      Host: `rebind.example:${port}`,
      Origin: `http://rebind.example:${port}`,
    });
    const same = await startServer(['--no-demo', '--same-origin']);
    const alone = await RawClient.upgrade(same.port, rebinding(same.port));
    expect(alone.status).toBe(101);
    alone.client.destroy();
    const listed = await startServer([
      '--no-demo',
      '--same-origin',
      '--origin',
      `http://127.0.0.1`,
    ]);
    const refused = await RawClient.upgrade(listed.port, rebinding(listed.port));
    expect(refused.status).toBe(403);
    refused.client.destroy();
    const own = await RawClient.upgrade(listed.port, {
      Host: `127.0.0.1:${listed.port}`,
      Origin: `http://127.0.0.1:${listed.port}`,
    });
    expect(own.status).toBe(101);
    own.client.destroy();
  });
});

let listedServer: Promise<ServerProcess> | undefined;
/** One server for the --origin table. */
function origins(): Promise<ServerProcess> {
  listedServer ??= startServer([
    '--no-demo',
    '--origin',
    'a.test,b.test:8080',
    '--origin',
    'https://c.test',
  ]);
  return listedServer;
}
