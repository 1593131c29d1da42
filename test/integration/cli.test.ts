import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandLine } from '../helpers/proc';
import {
  NODE_ARGS,
  ROOT,
  ServerProcess,
  startServer,
  stopAllServers,
  statusOf,
} from '../helpers/server';

/** Runs the server with these flags expecting it to refuse them; returns exit code and output. */
function refuse(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after 10 s: ${stdout}${stderr}`));
    }, 10000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('command line', () => {
  afterAll(stopAllServers);

  test.each([
    ['port 70000', ['--port', '70000'], /--port/],
    ['min above max', ['--interval-min', '3', '--interval-max', '2'], /--interval-min/],
    ['interval 0', ['--interval-min', '0'], /--interval-min/],
    ['negative interval', ['--interval-max', '-1'], /--interval-max/],
    ['interval not a number', ['--interval-min', 'soon'], /--interval-min/],
    ['unknown flag', ['--colour', 'blue'], /colour/],
    ['bad log level', ['--log-level', 'loud'], /log-level/],
    ['--exec with an open quote', ['--exec', "sh -c 'date"], /--exec: unterminated single quote/],
    ['a short publish token', ['--publish-token', 'abc'], /--publish-token/],
    ['--max-buffered too small', ['--max-buffered', '100'], /--max-buffered/],
  ])('%s: exits non-zero with one line naming the flag', async (_name, args, pattern) => {
    const { code, stdout, stderr } = await refuse(args);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(stderr).not.toMatch(/at .*\.js:\d+/);
  });

  test.each([
    ['--host twice', ['--host', '127.0.0.1', '--host', '127.0.0.2'], /^push-websocket: --host was/],
    ['--port twice', ['--port', '0', '--port', '0'], /^push-websocket: --port was given more/],
    ['--exec twice', ['--exec', 'cat', '--exec', 'cat'], /^push-websocket: --exec was given more/],
    ['--demo and --no-demo', ['--demo', '--no-demo'], /^push-websocket: --demo was given more/],
    [
      '--spare-workers MIN above MAX',
      ['--spare-workers', '3:1'],
      /^push-websocket: --spare-workers MIN:MAX: MIN \(3\) is above MAX \(1\)\n$/,
    ],
    [
      '--spare-workers of three numbers',
      ['--spare-workers', '1:2:3'],
      /^push-websocket: --spare-workers must be N or MIN:MAX, whole numbers from 0 to 64 \(got "1:2:3"\)\n$/,
    ],
    ['--spare-workers 65', ['--spare-workers', '65'], /^push-websocket: --spare-workers must be N/],
    [
      '--spare-workers a:b',
      ['--spare-workers', 'a:b'],
      /^push-websocket: --spare-workers must be N/,
    ],
    ['--spare-workers -1', ['--spare-workers', '-1'], /^push-websocket: --spare-workers must be N/],
    [
      '--exec of no command',
      ['--exec', 'no-such-command-x'],
      /command "no-such-command-x" not found/,
    ],
    [
      '--exec of no file',
      ['--exec', './no/such/file'],
      /"\.\/no\/such\/file" is not an executable/,
    ],
  ])(
    '%s: exits 2 with one line naming the flag, before listening',
    async (_name, args, pattern) => {
      // On a free port, so that a server wrongly accepting the flags could not collide.
      const { code, stdout, stderr } = await refuse(
        args.includes('--port') ? args : ['--port', '0', ...args],
      );
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(pattern);
    },
  );

  test('--origin may repeat', async () => {
    const server = await startServer([
      '--origin',
      'http://a.example',
      '--origin',
      'http://b.example',
    ]);
    const status = await statusOf<{
      limits: { origins: string[] };
    }>(server);
    expect(status.limits.origins).toEqual(['http://a.example', 'http://b.example']);
  });

  test.each([
    ['a bad value', { PUSH_WS_PORT: 'many' }, /--port/],
    ['an unknown variable (a typo)', { PUSH_WS_SPARE_WORKER: '3' }, /spare-worker/],
    ['MIN above MAX', { PUSH_WS_SPARE_WORKERS: '4:2' }, /--spare-workers MIN:MAX: MIN \(4\)/],
  ])('%s from the environment is refused the same way', async (_name, env, pattern) => {
    const { code, stderr } = await refuse([], env);
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(pattern);
  });

  test('a port in use: exits non-zero with a one-line reason', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const { code, stderr } = await refuse(['--port', String(port)]);
    blocker.close();
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
  });

  test('settings come from PUSH_WS_* variables; --port 0 reports the real port', async () => {
    const server = await startServer([], {
      env: { PUSH_WS_MAX_CLIENTS: '7', PUSH_WS_LOG_FORMAT: 'json' },
    });
    expect(server.port).toBeGreaterThan(0);
    const line = JSON.parse(
      server.output.split('\n').find((l) => l.includes('Server started')) as string,
    );
    expect(line).toMatchObject({
      level: 'info',
      message: `Server started on 127.0.0.1:${server.port}`,
    });
    const status = await statusOf<{
      limits: { max_clients: number };
    }>(server);
    expect(status.limits.max_clients).toBe(7);
  });

  test('text logs look like the original: [YYYY-MM-DD HH:MM:SS] message', async () => {
    const server = await startServer();
    const lines = server.output.trim().split('\n');
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] Server starting\.\.\.$/);
    expect(lines.filter((l) => l.includes('Server started on'))).toHaveLength(1);
  });

  test.each([
    ['warn', 'text'],
    ['error', 'text'],
    ['error', 'json'],
  ])(
    'the ready line prints at --log-level %s (%s), and nothing below the level does',
    async (level, format) => {
      const server = await startServer(['--log-level', level, '--log-format', format]);
      const lines = server.output.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`Server started on 127.0.0.1:${server.port}`);
      if (format === 'json') expect(JSON.parse(lines[0])).toMatchObject({ level: 'info' });
      expect(server.output).not.toContain('Server starting');
    },
  );

  test("the package's command (through an npm-style symlink) runs the master, titled whole", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-bin-'));
    const link = path.join(dir, 'push-websocket');
    symlinkSync(path.join(ROOT, 'bin/push-websocket'), link);
    const server = ServerProcess.spawn(link, ['--port', '0']);
    try {
      await server.ready();
      expect(commandLine(server.pid)).toBe(`push-websocket master 127.0.0.1:${server.port}`);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--help and --version answer and exit 0', async () => {
    const help = await refuse(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--interval-min');
    const version = await refuse(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
