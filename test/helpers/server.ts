import type { ChildProcess } from 'node:child_process';
import { ServerProcess } from '../../scripts/lib/server-process';
import { RunningProcesses } from './running';
import { stopByPid, successorsOf } from './upgrade';
import { HANG_BOUND_MS } from './wait';

export { MAIN, NODE_ARGS, ROOT, ServerProcess } from '../../scripts/lib/server-process';

/** Fast pushes for tests: the hello and pushes arrive within a fraction of a second. */
export const FAST = ['--interval-min', '0.05', '--interval-max', '0.1'];

const running = new RunningProcesses<ServerProcess>();
/** The servers tracked since the last stopAllServers, exited or not (their logs, below). */
const tracked: ServerProcess[] = [];

/** Tracks a server so that stopAllServers() stops it, and any master that took over. */
export function track(server: ServerProcess): ServerProcess {
  tracked.push(server);
  return running.add(server);
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready line. */
  timeoutMs?: number;
  /** A port of its own (a restart on the same port); a free one when left out. */
  port?: number;
}

/** The real compiled server, started as a child process on a free port. */
export async function startServer(
  args: string[] = [],
  options: StartOptions = {},
): Promise<ServerProcess> {
  const server = track(
    ServerProcess.ours(['--port', String(options.port ?? 0), ...args], {
      env: { ...process.env, ...options.env },
    }),
  );
  return server.ready(options.timeoutMs ?? HANG_BOUND_MS);
}

/**
 * A server started some other way (the installed command, a unit's ExecStart), tracked
 * like startServer's: resolves once it logs its ready line, with its host and port.
 */
export function serverReady(
  child: ChildProcess,
  timeoutMs = HANG_BOUND_MS,
): Promise<ServerProcess> {
  return track(new ServerProcess(child)).ready(timeoutMs);
}

/**
 * Stops every server a test file started (call from afterAll/afterEach), and the
 * masters that took over from them in a hot upgrade: those are no test's children, and
 * a test that failed before it read one's PID left it running.
 */
export async function stopAllServers(): Promise<void> {
  await running.stopAll();
  await Promise.all(tracked.splice(0).flatMap(successorsOf).map(stopByPid));
}

/**
 * GET /status of a server, its JSON body as T (`init` for headers such as an admin
 * token). Like a bare fetch: the answer is not checked, only parsed.
 */
export async function statusOf<T>(server: ServerProcess, init?: RequestInit): Promise<T> {
  return (await (await fetch(`${server.httpUrl}/status`, init)).json()) as T;
}
