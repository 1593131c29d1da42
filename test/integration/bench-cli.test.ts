import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server';
import { childrenOf, isAlive } from '../helpers/proc';
import { HANG_BOUND_MS, waitFor } from '../helpers/wait';

/**
 * The bench as a user runs it by hand: its flags answer clearly, and stopping it stops
 * the servers it started.
 */
const BENCH = path.join(ROOT, 'dist/scripts/bench/bench.js');
const CHURN_FLOORS = path.join(ROOT, 'dist/scripts/bench/investigations/churn-floors.js');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BENCH, ...args], {
      timeout: HANG_BOUND_MS,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run bench, by hand', () => {
  test('--help prints the usage; an unknown flag exits 2 with the usage, no stack trace', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run bench .*--only SECTION/);

    const unknown = await run(['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/'--bogus'/);
    expect(unknown.stderr).toMatch(/usage: npm run bench/);
    expect(unknown.stderr).not.toMatch(/^\s+at /m);
  });

  // Regression: a bench killed by PID left its servers and their spares running.
  test('a bench stopped with SIGTERM stops the servers it started first', async () => {
    const bench = spawn(
      process.execPath,
      [CHURN_FLOORS, '--rounds', '1', '--clients', '1000', '--kinds', 'ours,floor'],
      { stdio: 'ignore' },
    );
    const benchPid = bench.pid as number;
    const exited = new Promise<number | null>((resolve) => bench.once('exit', resolve));
    let servers: number[] = [];
    try {
      servers = await waitFor(() => {
        const pids = childrenOf(benchPid).map((child) => child.pid);
        return pids.length === 2 && pids;
      }, 'both servers started');
      const workers = servers.flatMap((pid) => childrenOf(pid).map((child) => child.pid));
      bench.kill('SIGTERM');
      expect(await exited).toBe(143);
      await waitFor(
        () => [...servers, ...workers].every((pid) => !isAlive(pid)),
        'the servers and their workers to be gone',
      );
    } finally {
      if (isAlive(benchPid)) bench.kill('SIGKILL');
      await exited;
      for (const pid of servers) if (isAlive(pid)) process.kill(pid, 'SIGTERM'); // failed: no leak
    }
  });
});
