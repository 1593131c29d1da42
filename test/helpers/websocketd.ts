import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { freePort } from '../../scripts/lib/free-port';
import { LoggedProcess } from '../../scripts/lib/server-process';
import { RunningProcesses } from './running';
import { HANG_BOUND_MS, waitFor } from './wait';

/**
 * The real websocketd, for parity tests: started in the foreground as a child on a
 * free loopback port, ready once it listens, stopped by PID (its commands with it).
 */
/** The binary: /usr/bin/websocketd, or WEBSOCKETD_BIN (another build, or none to see the skip). */
export const WEBSOCKETD = process.env.WEBSOCKETD_BIN ?? '/usr/bin/websocketd';

export function websocketdAvailable(): boolean {
  return existsSync(WEBSOCKETD);
}

/** Why parity tests are skipped here, or undefined when websocketd is installed. */
export function websocketdSkipReason(): string | undefined {
  return websocketdAvailable() ? undefined : `${WEBSOCKETD} is not installed`;
}

/**
 * `describe` for tests that need websocketd: skipped where it is not installed, with
 * the reason in the suite's name and a warning in the output.
 */
export function describeWithWebsocketd(name: string, body: () => void): void {
  const reason = websocketdSkipReason();
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  console.warn(`"${name}" skipped: ${reason}`);
  describe.skip(`${name} (skipped: ${reason})`, body);
}

const running = new RunningProcesses<WebsocketdProcess>();

export class WebsocketdProcess extends LoggedProcess {
  constructor(
    child: ChildProcess,
    readonly port: number,
  ) {
    super(child);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * SIGTERM by PID, SIGKILL after `timeoutMs`; then ends the commands it had running
   * (websocketd leaves them to read EOF on their own).
   */
  async stop(timeoutMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.terminateTree(timeoutMs);
  }
}

export interface WebsocketdOptions {
  cwd?: string;
  /** The whole environment websocketd gets (default: this process's). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Starts websocketd as `websocketd --port N --address 127.0.0.1 ...args` (so args may
 * end with the command and its arguments) and resolves once it listens. websocketd
 * cannot take port 0, so a free port is picked first; if another process takes it in
 * between, websocketd exits and we try another (three tries).
 */
export async function startWebsocketd(
  args: string[],
  options: WebsocketdOptions = {},
): Promise<WebsocketdProcess> {
  const failures: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(WEBSOCKETD, ['--port', String(port), '--address', '127.0.0.1', ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new WebsocketdProcess(child, port);
    running.add(server);
    const ready = await waitFor(
      () => (!server.running ? 'exited' : listensOn(server.pid, port) && 'ready'),
      `websocketd listening on ${port}`,
      options.timeoutMs ?? HANG_BOUND_MS,
    ).catch(async (error: Error) => {
      await server.stop();
      throw new Error(`${error.message}; output:\n${server.output}`);
    });
    if (ready === 'ready') return server;
    failures.push(server.output.trim());
  }
  throw new Error(`websocketd did not start:\n${failures.join('\n')}`);
}

/** Stops every websocketd a test file started (call from afterAll/afterEach). */
export async function stopAllWebsocketd(): Promise<void> {
  await running.stopAll();
}

/**
 * The process itself holds a listening TCP socket on the port: /proc/net/tcp names
 * the socket's inode, /proc/PID/fd shows whether it is this process's. (A connect
 * alone could reach another server that had the port first.)
 */
function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXADDR:HEXPORT; state 0A is LISTEN; the inode is field 10.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A') inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return false;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      const target = readlinkSafe(`/proc/${pid}/fd/${fd}`);
      return target !== undefined && inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
    });
  } catch {
    return false;
  }
}

function readlinkSafe(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch {
    return undefined;
  }
}
