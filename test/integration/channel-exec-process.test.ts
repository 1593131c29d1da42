import { readdirSync, readFileSync } from 'node:fs';
import { groupAlive, signalGroup } from '../../src/shared/process-group';
import { environ, isAlive } from '../helpers/proc';
import { startServer, stopAllServers, type ServerProcess } from '../helpers/server';
import { waitFor } from '../helpers/wait';

/**
 * A --channel-exec command as a process: what it sees of the server's environment
 * (/proc/PID/environ), and that it ends with the master, even a SIGKILLed one.
 */

const PUBLISH_TOKEN = 'publish-secret-123';
const ADMIN_TOKEN = 'admin-secret-456';
const REDIS_URL = 'redis://:hunter2-redis-pw@127.0.0.1:1/0';
const SECRETS = { PUSH_WS_PUBLISH_TOKEN: PUBLISH_TOKEN, PUSH_WS_ADMIN_TOKEN: ADMIN_TOKEN };

/** Live (not zombie) processes of a process group. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return members;
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The command's pid, from the master's log line. */
async function commandPid(server: ServerProcess, channel: string): Promise<number> {
  const match = await server.waitForLog(
    new RegExp(`--channel-exec ${channel}: started \\S+ \\(pid (\\d+)\\)`),
  );
  return Number(match[1]);
}

describe('--channel-exec commands as processes', () => {
  const groups: number[] = [];
  afterEach(async () => {
    // A failed test must leave nothing running: the groups it made, by their ids.
    for (const pgid of groups.splice(0)) signalGroup(pgid, 'SIGKILL');
    await stopAllServers();
  });

  test('a --channel-exec command gets the --passenv environment, never the secrets', async () => {
    const server = await startServer(
      [
        '--passenv',
        'PATH,FROM_SERVER,PUSH_WS_PUBLISH_TOKEN',
        '--channel-exec',
        '/env=sh -c "echo up; exec sleep 600"',
      ],
      { env: { ...SECRETS, PUSH_WS_REDIS: REDIS_URL, FROM_SERVER: 'yes', NOT_PASSED: 'no' } },
    );
    const pid = await commandPid(server, '/env');
    groups.push(pid);
    // Read once the exec is over: during an execve /proc/PID/environ can read empty
    // (the old sh's environment was read, then an empty one: a CI failure).
    await waitFor(
      () => readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('sleep\0'),
      'the command to exec sleep',
    );
    const env = environ(pid);
    expect(env.FROM_SERVER).toBe('yes');
    expect(env.PATH).toBe(process.env.PATH);
    expect(env.NOT_PASSED).toBeUndefined();
    // Listed or not, no secret passes; nor the supervisor's own variables.
    const text = readFileSync(`/proc/${pid}/environ`, 'latin1');
    for (const secret of [PUBLISH_TOKEN, ADMIN_TOKEN, 'hunter2-redis-pw']) {
      expect(text).not.toContain(secret);
    }
    expect(Object.keys(env).filter((name) => name.startsWith('PUSH_WS_'))).toEqual([]);
    // The process between the master and the command has none either.
    const supervisor = parentOf(pid);
    expect(server.workerPids()).toContain(supervisor);
    const supervisorEnv = readFileSync(`/proc/${supervisor}/environ`, 'latin1');
    for (const secret of [PUBLISH_TOKEN, ADMIN_TOKEN, 'hunter2-redis-pw']) {
      expect(supervisorEnv).not.toContain(secret);
    }
  });

  test.each([
    ['a command and its children', 'sh -c "sleep 600 & sleep 600 & wait"', 5000],
    [
      'a command that ignores SIGTERM (SIGKILL after the grace)',
      `sh -c "trap '' TERM; sleep 600 & sleep 600 & wait"`,
      8000,
    ],
  ])(
    '%s end(s) with a SIGKILLed master',
    async (_name, command, boundMs) => {
      const server = await startServer(['--channel-exec', `/t=${command}`]);
      const pid = await commandPid(server, '/t');
      groups.push(pid);
      await waitFor(() => groupMembers(pid).length === 3, 'the command and its two children');
      const members = [...groupMembers(pid), parentOf(pid)]; // and its supervisor
      process.kill(server.pid, 'SIGKILL');
      await server.exited;
      const started = Date.now();
      await waitFor(
        () => !groupAlive(pid) && members.every((member) => !isAlive(member)),
        'the command group and its supervisor to end',
        boundMs,
      );
      console.log(`command group gone ${Date.now() - started} ms after the master's SIGKILL`);
    },
    30000,
  );

  test('a stopping master ends the command group too (SIGTERM)', async () => {
    const server = await startServer(['--channel-exec', '/t=sh -c "sleep 600 & wait"']);
    const pid = await commandPid(server, '/t');
    groups.push(pid);
    await waitFor(() => groupMembers(pid).length === 2, 'the command and its child');
    await server.stop();
    expect(groupAlive(pid)).toBe(false);
  });
});
