import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { published, TOKEN } from '../helpers/channels';
import { ROOT, startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { Conditions, HANG_BOUND_MS } from '../helpers/wait';

const run = promisify(execFile);

/**
 * The client library as an app gets it: GET /client.js, and the Node example of
 * docs/client.md, type-checked and run as written against the real server, importing
 * `push-websocket/client` through the package's exports.
 */
function docsExample(): string {
  const doc = readFileSync(path.join(ROOT, 'docs/client.md'), 'utf8');
  const block = /<!-- example: node -->\s*```js\n([\s\S]*?)\n```/.exec(doc);
  if (block === null) throw new Error('docs/client.md has no node example');
  return block[1];
}

describe('GET /client.js', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(['--spare-workers', '0']);
  });
  afterAll(stopAllServers);

  test('the built library, as a module script any page may load, revalidated by its ETag', async () => {
    const response = await fetch(`${server.httpUrl}/client.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const body = await response.text();
    expect(body).toBe(readFileSync(path.join(ROOT, 'dist/client/client.js'), 'utf8'));
    expect(body).toMatch(/^export \{/m);

    const again = await fetch(`${server.httpUrl}/client.js`, {
      headers: { 'If-None-Match': `"other", ${etag}` },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const head = await fetch(`${server.httpUrl}/client.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(body));
    const post = await fetch(`${server.httpUrl}/client.js`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  test('/healthz, which the client asks for Retry-After, is readable from any origin', async () => {
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.headers.get('access-control-allow-origin')).toBe('*');
    expect(health.headers.get('access-control-expose-headers')).toBe('Retry-After');
  });
});

describe('the Node example of docs/client.md', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-client-docs-'));
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(ROOT, path.join(dir, 'node_modules/push-websocket'));
    for (const name of ['ws', '@types']) {
      symlinkSync(path.join(ROOT, 'node_modules', name), path.join(dir, 'node_modules', name));
    }
    writeFileSync(path.join(dir, 'example.mjs'), docsExample());
  });

  afterAll(async () => {
    if (child?.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await stopAllServers();
    rmSync(dir, { recursive: true, force: true });
  });

  test('type-checks against the shipped declarations', async () => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--allowJs', '--checkJs', '--strict', '--target', 'es2022'];
    const modules = ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node'];
    const result = await run(process.execPath, [tsc, ...flags, ...modules, 'example.mjs'], {
      cwd: dir,
      timeout: 60000,
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    expect(result.stdout).toBe('');
  }, 90000);

  test('runs: prints the publications of its channel, and ends on "bye"', async () => {
    const server = await startServer(['--spare-workers', '1'], {
      env: { PUSH_WS_PUBLISH_TOKEN: TOKEN },
    });
    const conditions = new Conditions();
    let output = '';
    const example = spawn(process.execPath, ['example.mjs'], {
      cwd: dir,
      env: { ...process.env, PUSH_URL: `ws://${server.host}:${server.port}/news` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = example;
    let exitCode: number | null | undefined;
    example.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      conditions.wake();
    });
    example.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      conditions.wake();
    });
    example.on('exit', (code) => {
      exitCode = code;
      conditions.wake();
    });
    const detail = (): string => `; output: ${output}`;
    await conditions.until(() => output.includes('state open'), 'open', HANG_BOUND_MS, detail);
    await published(server, { channel: '/news', data: 'hello' });
    await published(server, { channel: '/news', data: 'bye' });
    await conditions.until(
      () => exitCode !== undefined,
      'the example to exit',
      HANG_BOUND_MS,
      detail,
    );
    expect(exitCode).toBe(0);
    expect(output.split('\n')).toEqual([
      'state connecting ',
      'state open ',
      '/news #1: hello',
      '/news #2: bye',
      'state closing ',
      'state closed 1000',
      '',
    ]);
  }, 60000);
});
