import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { procStat } from '../helpers/proc';
import { FAST, ROOT, serverReady, stopAllServers } from '../helpers/server';
import { WsClient } from '../helpers/ws-client';

const run = promisify(execFile);

/** npm, bounded, without a terminal's progress output. */
function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    timeout: 90000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/**
 * The npm package as a user gets it: packed, installed globally under a temp prefix
 * with production dependencies only, its command run from there.
 *
 * The pack runs with --ignore-scripts: `npm test` has just built dist/, and the
 * package's prepack (a clean rebuild) would rewrite dist/ under the feet of the other
 * test files running at the same time.
 */
describe('the npm package', () => {
  let dir: string;
  let tarball: string;
  let files: string[];
  const installed = (): string => path.join(dir, 'global/lib/node_modules/push-websocket');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-package-'));
    const { stdout } = await npm(
      ['pack', '--json', '--ignore-scripts', '--pack-destination', dir],
      ROOT,
    );
    const [report] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(dir, report.filename);
    files = report.files.map((file) => file.path);
  }, 60000);

  afterAll(async () => {
    await stopAllServers();
    rmSync(dir, { recursive: true, force: true });
  });

  test('prepack builds from clean, so a packed tarball always has dist/', () => {
    const scripts = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;
    expect(scripts.prepack).toBe('rm -rf dist && npm run build');
  });

  test('the tarball has what the command runs, and no tests, sources or maps', () => {
    for (const file of [
      'package.json',
      'README.md',
      'docs/operations.md', // the pages the README links to
      'bin/push-websocket',
      'dist/src/main.js',
      'dist/src/master/master.js',
      'dist/workers/push-worker.bundle.js',
      'dist/workers/push-worker.command-source.js', // the bundle's lazy parts
      'dist/workers/push-worker.command-environment.js',
      'dist/workers/push-worker.sse.js',
      'dist/client/index.html',
      'dist/client/client.js',
      'dist/client/package.json',
      'dist/client/types/index.d.ts',
      'scripts/install-systemd.sh',
      'scripts/push-websocket.service',
      'deploy/nginx/push-websocket-tls.conf',
    ]) {
      expect(files).toContain(file);
    }
    for (const file of files) {
      expect(file).not.toMatch(/^(test|dist\/scripts|dist\/test|node_modules)\//);
      // Type declarations of the client library are the one kind of .ts shipped.
      if (!file.startsWith('dist/client/types/')) expect(file).not.toMatch(/\.(ts|map)$/);
      else expect(file).toMatch(/\.d\.ts$/);
    }
  });

  test('installed with npm install -g, the push-websocket command serves a client', async () => {
    await npm(
      [
        'install',
        '-g',
        '--prefix',
        path.join(dir, 'global'),
        '--omit=dev',
        '--prefer-offline',
        tarball,
      ],
      dir,
    );
    const child = spawn(path.join(dir, 'global/bin/push-websocket'), ['--port', '0', ...FAST], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = await serverReady(child);
    const client = await WsClient.open(server.url);
    try {
      const pid = await client.workerPid();
      expect(procStat(pid)?.ppid).toBe(server.pid);
      await client.waitForMessages(2);
      expect(client.messages[1]).toMatch(/^I am waiting 0\.\d+ seconds$/);
      const page = await fetch(`${server.httpUrl}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      const script = await fetch(`${server.httpUrl}/client.js`);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await script.text()).toMatch(/\bPushClient\b/);
      // The library as an app imports it: push-websocket/client, an ES module.
      const { stdout } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import('push-websocket/client'); console.log(typeof m.PushClient)",
        ],
        { cwd: path.join(dir, 'global/lib'), timeout: 30000 },
      );
      expect(stdout).toBe('function\n');
    } finally {
      client.terminate();
      await server.stop();
    }
  }, 90000);

  test('its systemd installer works from the installed package', async () => {
    const app = path.join(dir, 'app');
    await run(
      'bash',
      [
        path.join(installed(), 'scripts/install-systemd.sh'),
        '--prefix',
        app,
        '--unit-dir',
        path.join(dir, 'units'),
        '--env-file',
        path.join(dir, 'default/push-websocket'),
      ],
      { timeout: 90000 },
    );
    const unit = readFileSync(path.join(dir, 'units/push-websocket.service'), 'utf8');
    const [command, ...args] = (/^ExecStart=(.*)$/m.exec(unit) as RegExpExecArray)[1].split(' ');
    expect(args).toContain(path.join(app, 'dist/src/main.js'));
    // The unit's Documentation= is the README; the pages it links to are beside it.
    expect(existsSync(path.join(app, 'docs/cli.md'))).toBe(true);
    const child = spawn(command, [...args, '--port', '0', ...FAST], {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = await serverReady(child);
    const client = await WsClient.open(server.url);
    try {
      await client.workerPid();
      await client.waitForMessages(2);
    } finally {
      client.terminate();
      await server.stop();
    }
  }, 90000);
});
