import type { ServerProcess } from '../../scripts/lib/server-process';
import { commandLine, isAlive } from './proc';
import { HANG_BOUND_MS, waitFor } from './wait';

/**
 * Sends SIGUSR2 to `server` and resolves with the new master's pid, from the old
 * master's "took over" line (in its output after offset `from`).
 */
export async function upgraded(server: ServerProcess, from = 0): Promise<number> {
  process.kill(server.pid, 'SIGUSR2');
  return tookOver(server, from);
}

/** The new master's pid, once the old master logs that it took over (after `from`). */
export async function tookOver(server: ServerProcess, from = 0): Promise<number> {
  const match = await waitFor(
    () => /master pid (\d+) took over/.exec(server.output.slice(from)) ?? undefined,
    'the hand-over',
    HANG_BOUND_MS,
  );
  return Number(match[1]);
}

/**
 * The masters that took over from `server` and are still up: each logs "master pid N
 * took over" to the output it inherited from the one it replaced. For stopAllServers.
 */
export function successorsOf(server: ServerProcess): number[] {
  return [...server.output.matchAll(/master pid (\d+) took over/g)]
    .map((match) => Number(match[1]))
    .filter((pid) => commandLine(pid)?.startsWith('push-websocket') === true);
}

/**
 * Stops a master that is no test's child (a hot upgrade's new one) by PID, and waits
 * until it is gone.
 */
export async function stopByPid(pid: number): Promise<void> {
  if (pid === 0 || !isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !isAlive(pid), `master ${pid} to exit`);
}
