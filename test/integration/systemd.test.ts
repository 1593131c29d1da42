import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { childrenOf, isAlive } from '../helpers/proc';
import { ROOT, ServerProcess } from '../helpers/server';
import { WsClient } from '../helpers/ws-client';

const run = promisify(execFile);

/** Reads KEY=value lines as systemd's EnvironmentFile= does (comments and blanks skipped). */
function environmentFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2].replace(/^"(.*)"$/, '$1');
  }
  return env;
}

describe('systemd unit', () => {
  let dir: string;
  let unit: string;
  let envFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-systemd-'));
    envFile = path.join(dir, 'default/push-websocket');
    const { stdout } = await run(
      'bash',
      [
        'scripts/install-systemd.sh',
        '--prefix',
        path.join(dir, 'app'),
        '--unit-dir',
        path.join(dir, 'units'),
        '--env-file',
        envFile,
      ],
      { cwd: ROOT },
    );
    expect(stdout).toContain('systemctl daemon-reload');
    expect(stdout).toContain('systemctl enable --now push-websocket');
    unit = readFileSync(path.join(dir, 'units/push-websocket.service'), 'utf8');
  }, 120000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the installed unit passes systemd-analyze verify with no warning', async () => {
    const { stdout, stderr } = await run('systemd-analyze', [
      'verify',
      path.join(dir, 'units/push-websocket.service'),
    ]);
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });

  test('systemd-analyze security rates the unit OK (2.5 with the isolation settings; 5.8 before)', async () => {
    const { stdout } = await run('systemd-analyze', [
      'security',
      '--offline=true',
      path.join(dir, 'units/push-websocket.service'),
    ]);
    const exposure = Number(/Overall exposure level for .*: ([\d.]+)/.exec(stdout)?.[1]);
    console.log(`systemd-analyze security: exposure ${exposure}`);
    expect(exposure).toBeLessThanOrEqual(2.5);
  });

  test('the unit sets what operations need', () => {
    for (const line of [
      'KillMode=mixed',
      'ExecReload=/bin/kill -USR2 $MAINPID',
      'PIDFile=/run/push-websocket/master.pid',
      'RuntimeDirectory=push-websocket',
      'Restart=on-failure',
      'DynamicUser=yes',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'Delegate=pids memory cpu', // client cgroups (docs/isolation.md)
      'AmbientCapabilities=CAP_SETUID CAP_SETGID CAP_KILL', // --exec-user
      'CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL',
      `EnvironmentFile=-${envFile}`,
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(/^ExecStart=(\/\S+)/m.exec(unit)?.[1]).toMatch(/^\/.*node$/);
  });

  test('started exactly as ExecStart with the environment file, stopped by SIGTERM as KillMode=mixed', async () => {
    writeFileSync(
      envFile,
      '# test settings\nPUSH_WS_PORT=0\nPUSH_WS_SPARE_WORKERS=1\nPUSH_WS_INTERVAL_MIN=0.05\nPUSH_WS_INTERVAL_MAX=0.1\n',
    );
    const [command, ...args] = (/^ExecStart=(.*)$/m.exec(unit) as RegExpExecArray)[1].split(' ');
    const server = ServerProcess.spawn(command, args, {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', ...environmentFile(envFile) },
    });
    try {
      await server.ready();
      const client = await WsClient.open(server.url);
      await client.waitForMessages(3);
      const workers = server.workerPids();
      expect(workers.length).toBeGreaterThanOrEqual(1);
      // KillMode=mixed: SIGTERM to the main process only.
      process.kill(server.pid, 'SIGTERM');
      expect((await server.exited).code).toBe(0);
      expect(await client.closed()).toBe(1001);
      for (const pid of workers) expect(isAlive(pid)).toBe(false);
    } finally {
      await server.stop();
    }
  });
});

const FAST_PUSHES = ['--interval-min', '0.05', '--interval-max', '0.1'];

describe('systemctl reload: a hot upgrade, as systemd runs it', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-reload-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('ExecReload hands over to a new master named in the PIDFile; stop then leaves no process', async () => {
    const unit = readFileSync(path.join(ROOT, 'scripts/push-websocket.service'), 'utf8');
    const runtime = (/^RuntimeDirectory=(.*)$/m.exec(unit) as RegExpExecArray)[1];
    const pidFile = (/^PIDFile=(.*)$/m.exec(unit) as RegExpExecArray)[1];
    // systemd makes /run/<RuntimeDirectory> and names it in $RUNTIME_DIRECTORY.
    expect(path.dirname(pidFile)).toBe(`/run/${runtime}`);
    const server = ServerProcess.ours(['--port', '0', '--spare-workers', '1', ...FAST_PUSHES], {
      env: { ...process.env, RUNTIME_DIRECTORY: dir },
    });
    let main = 0;
    try {
      await server.ready();
      const readPid = (): number =>
        Number(readFileSync(path.join(dir, path.basename(pidFile)), 'utf8'));
      expect(readPid()).toBe(server.pid);
      const client = await WsClient.open(server.url);
      await client.waitForMessages(2);
      const workers = server.workerPids();

      const reload = (/^ExecReload=(.*)$/m.exec(unit) as RegExpExecArray)[1]
        .replace('$MAINPID', String(server.pid))
        .split(' ');
      await run(reload[0], reload.slice(1));
      // systemd reads the PIDFile when its main process exits.
      await server.exited;
      main = readPid();
      expect(main).not.toBe(server.pid);
      expect(isAlive(main)).toBe(true);
      const pushes = client.messages.length;
      await client.waitForMessages(pushes + 2); // the demo goes on, from the same worker
      expect(client.closeCode).toBeUndefined();

      // systemctl stop, KillMode=mixed: SIGTERM to the main process only.
      const spares = childrenOf(main).map((child) => child.pid);
      process.kill(main, 'SIGTERM');
      expect(await client.closed()).toBe(1001);
      const everyone = [main, ...workers, ...spares];
      const deadline = Date.now() + 10_000;
      while (everyone.some(isAlive) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(everyone.filter(isAlive)).toEqual([]);
    } finally {
      if (main !== 0 && isAlive(main)) process.kill(main, 'SIGKILL');
      await server.stop();
    }
  }, 60_000);
});

/** Runs the installer with `input` on its stdin; resolves with its status and output. */
function install(
  args: string[],
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/install-systemd.sh', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

describe('the admin token at install time', () => {
  const TOKEN = 'install-time-admin-token';
  let dir: string;
  let envFile: string;
  const paths = (): string[] => [
    '--prefix',
    path.join(dir, 'app'),
    '--unit-dir',
    path.join(dir, 'units'),
    '--env-file',
    envFile,
  ];

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'push-websocket-admin-'));
    envFile = path.join(dir, 'default/push-websocket');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('without --admin-token-file no token is written', async () => {
    const { code } = await install(paths());
    expect(code).toBe(0);
    expect(readFileSync(envFile, 'utf8')).not.toMatch(/^\s*PUSH_WS_ADMIN_TOKEN=/m);
  }, 100000);

  test('from stdin: one PUSH_WS_ADMIN_TOKEN line in a root-only file; a new token replaces it', async () => {
    let result = await install([...paths(), '--admin-token-file', '-'], 'first-admin-token\n');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('first-admin-token');
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}PUSH_WS_PORT=0\n`);
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    result = await install([...paths(), '--admin-token-file', tokenFile]);
    expect(result.code).toBe(0);
    const text = readFileSync(envFile, 'utf8');
    expect(text.match(/^PUSH_WS_ADMIN_TOKEN=.*$/gm)).toEqual([`PUSH_WS_ADMIN_TOKEN=${TOKEN}`]);
    expect(text).toMatch(/^PUSH_WS_PORT=0$/m);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
  }, 100000);

  test('the unit started with that file protects /status and /metrics', async () => {
    const unit = readFileSync(path.join(dir, 'units/push-websocket.service'), 'utf8');
    const [command, ...args] = (/^ExecStart=(.*)$/m.exec(unit) as RegExpExecArray)[1].split(' ');
    const server = ServerProcess.spawn(command, args, {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', ...environmentFile(envFile) },
    });
    try {
      await server.ready();
      for (const endpoint of ['/status', '/metrics']) {
        expect((await fetch(`${server.httpUrl}${endpoint}`)).status).toBe(401);
        const allowed = await fetch(`${server.httpUrl}${endpoint}`, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        });
        expect(allowed.status).toBe(200);
        await allowed.text();
      }
      expect(server.output).not.toContain(TOKEN);
    } finally {
      await server.stop();
    }
  });

  test.each([
    ['too short', 'short\n'],
    ['with a space', 'has a space in it\n'],
    ['with a quote', 'quote"in-the-token\n'],
    ['empty', ''],
  ])('a token %s is refused before anything is installed', async (_name, input) => {
    const prefix = path.join(dir, 'refused');
    const { code, stderr } = await install(
      [
        '--prefix',
        prefix,
        '--unit-dir',
        prefix,
        '--env-file',
        path.join(prefix, 'env'),
        '--admin-token-file',
        '-',
      ],
      input,
    );
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/admin token must be at least 8 characters/);
    expect(existsSync(prefix)).toBe(false);
  });
});
