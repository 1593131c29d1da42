import { commandLine, childPids } from '../lib/proc';
import { sleep } from '../lib/sleep';

/** How long a server may take to settle before the bench goes on anyway. */
const SETTLE_BOUND_MS = 15000;

/** Ready spares, from one of our masters' GET /status (undefined if it does not answer). */
async function readySpares(port: number): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/status`);
    const body = (await response.json()) as { spares?: unknown };
    return Array.isArray(body.spares) ? body.spares.length : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits (bounded) until a server keeps only idle children, at most `maxIdle` of them
 * (its spares; MAX for `--spare-workers MIN:MAX`, which may hold more than MIN after
 * demand), then a quiet moment. With `statusPort` (ours), also until none is still
 * starting: a starting worker already has the idle title, only /status tells them apart.
 */
export async function settle(
  pid: number,
  maxIdle: number,
  quietMs = 300,
  statusPort?: number,
): Promise<void> {
  const deadline = Date.now() + SETTLE_BOUND_MS;
  const settled = async (): Promise<boolean> => {
    const children = childPids(pid);
    if (children.length > maxIdle) return false;
    if (!children.every((child) => (commandLine(child) ?? '').includes('idle'))) return false;
    return statusPort === undefined || (await readySpares(statusPort)) === children.length;
  };
  while (Date.now() < deadline && !(await settled())) await sleep(50);
  await sleep(quietMs);
}
