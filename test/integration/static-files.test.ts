import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StaticFiles } from '../../src/master/http/static-files';
import { rawHttp, type RawAnswer } from '../helpers/raw-http';

/**
 * --staticdir over real HTTP: a plain node server answering from StaticFiles, 404 when
 * it serves nothing. Hostile requests go out as raw bytes, so that no client library
 * normalizes "..", "%2e%2e" or "%2f" away before the server sees them.
 */
let base: string;
let server: http.Server;
let port: number;

/** A raw request (no client library normalises the target), answered in full. */
function get(
  target: string,
  method = 'GET',
  extra: Record<string, string> = {},
): Promise<RawAnswer> {
  return rawHttp(port, target, { Host: 'localhost', ...extra }, method);
}

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'push-ws-static-'));
  const dir = path.join(base, 'public');
  const outside = path.join(base, 'outside');
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  mkdirSync(path.join(dir, 'noindex'));
  mkdirSync(path.join(dir, 'evil.example'));
  mkdirSync(outside);
  writeFileSync(path.join(dir, 'hello.txt'), 'hello, world\n');
  writeFileSync(path.join(dir, 'page.html'), '<p>page</p>\n');
  writeFileSync(path.join(dir, 'app.js'), 'console.log(1);\n');
  writeFileSync(path.join(dir, 'style.css'), 'p {}\n');
  writeFileSync(path.join(dir, 'data.json'), '{}\n');
  writeFileSync(path.join(dir, 'my file.txt'), 'spaced\n');
  writeFileSync(path.join(dir, 'sub', 'index.html'), '<p>sub index</p>\n');
  writeFileSync(path.join(dir, 'evil.example', 'index.html'), 'x\n');
  writeFileSync(path.join(dir, '.hidden'), 'hidden\n');
  writeFileSync(path.join(dir, 'sub', '.env'), 'SECRET=1\n');
  writeFileSync(path.join(outside, 'secret.txt'), 'outside secret\n');
  utimesSync(path.join(dir, 'hello.txt'), new Date('2024-01-02'), new Date('2024-01-02'));
  symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'link-out.txt'));
  symlinkSync(outside, path.join(dir, 'dir-out'));
  symlinkSync('.hidden', path.join(dir, 'visible-link'));
  symlinkSync('hello.txt', path.join(dir, 'link-in.txt'));

  const files = await StaticFiles.open(dir);
  server = http.createServer((req, res) => {
    files.serve(req, res).then(
      (served) => {
        if (served) return;
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found\n');
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(base, { recursive: true, force: true });
});

describe('--staticdir serves the files under DIR', () => {
  test('a file, with its type, ETag and Last-Modified', async () => {
    const answer = await get('/hello.txt');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('hello, world\n');
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.headers.etag).toMatch(/^W\/".+"$/);
    expect(answer.headers['last-modified']).toBe('Tue, 02 Jan 2024 00:00:00 GMT');
  });

  test.each([
    ['/page.html', 'text/html; charset=utf-8'],
    ['/app.js', 'text/javascript; charset=utf-8'],
    ['/style.css', 'text/css; charset=utf-8'],
    ['/data.json', 'application/json; charset=utf-8'],
  ])('%s is %s', async (target, type) => {
    const answer = await get(target);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(type);
  });

  test('HEAD gives the headers without the body', async () => {
    const answer = await get('/hello.txt', 'HEAD');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-length']).toBe('13');
    expect(answer.body).toBe('');
  });

  test('If-None-Match with the ETag gives 304 and no body', async () => {
    const { headers } = await get('/hello.txt');
    const answer = await get('/hello.txt', 'GET', { 'If-None-Match': headers.etag });
    expect(answer.status).toBe(304);
    expect(answer.body).toBe('');
    expect((await get('/hello.txt', 'GET', { 'If-None-Match': '"other"' })).status).toBe(200);
  });

  test('If-Modified-Since at the file time gives 304', async () => {
    const since = { 'If-Modified-Since': 'Tue, 02 Jan 2024 00:00:00 GMT' };
    expect((await get('/hello.txt', 'GET', since)).status).toBe(304);
  });

  test('a query string, an encoded name and a link inside DIR', async () => {
    expect((await get('/hello.txt?v=2')).body).toBe('hello, world\n');
    expect((await get('/my%20file.txt')).body).toBe('spaced\n');
    expect((await get('/link-in.txt')).body).toBe('hello, world\n');
  });

  test('a directory: redirected to its slash form, then its index.html; no listing', async () => {
    const redirect = await get('/sub?x=1');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/sub/?x=1');
    expect((await get('/sub/')).body).toBe('<p>sub index</p>\n');
    expect((await get('/noindex/')).status).toBe(404);
  });

  test('"//evil.example" is not redirected off-site', async () => {
    const answer = await get('//evil.example');
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe('/evil.example/');
  });

  test('a file’s path with a trailing slash is 404, not the file (/hello.txt/)', async () => {
    expect((await get('/hello.txt/')).status).toBe(404);
    expect((await get('/link-in.txt/')).status).toBe(404);
    expect((await get('/hello.txt')).status).toBe(200);
  });

  test('a missing file, and methods other than GET and HEAD, are left to the caller', async () => {
    expect((await get('/nope.txt')).status).toBe(404);
    expect((await get('/hello.txt', 'POST', { 'Content-Length': '0' })).status).toBe(404);
  });
});

describe('--staticdir never serves what is outside DIR or hidden', () => {
  test.each([
    ['..', '/../outside/secret.txt'],
    ['.. after a segment', '/sub/../../outside/secret.txt'],
    ['%2e%2e', '/%2e%2e/outside/secret.txt'],
    ['%2E%2E', '/%2E%2E/outside/secret.txt'],
    ['encoded slashes', '/sub%2f..%2f..%2foutside%2fsecret.txt'],
    ['%2e%2e%2f', '/%2e%2e%2foutside%2fsecret.txt'],
    ['encoded backslashes', '/sub%5c..%5c..%5coutside%5csecret.txt'],
    ['NUL', '/hello.txt%00.html'],
    ['a symlink to a file outside', '/link-out.txt'],
    ['a symlink to a directory outside', '/dir-out/secret.txt'],
    ['a hidden file', '/.hidden'],
    ['a hidden file in a directory', '/sub/.env'],
    ['an encoded hidden file', '/%2ehidden'],
    ['a visible link to a hidden file', '/visible-link'],
    ['a malformed escape', '/hello%zz.txt'],
    ['an absolute-form path', 'http://localhost/../outside/secret.txt'],
  ])('%s: 404 (%s)', async (_name, target) => {
    const answer = await get(target);
    expect(answer.status).toBe(404);
    expect(answer.body).not.toMatch(/secret|hidden/i);
  });
});
