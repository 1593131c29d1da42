import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from '../helpers/proc';
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

  test('the unit sets what operations need', () => {
    for (const line of [
      'KillMode=mixed',
      'Restart=on-failure',
      'DynamicUser=yes',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
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
