import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { childrenOf, isAlive } from './proc';
import { HANG_BOUND_MS } from './wait';

export const ROOT = path.resolve(__dirname, '../..');
export const MAIN = path.join(ROOT, 'dist/src/main.js');
/** As `npm start` runs it: the --title gives process.title room for the whole title. */
export const NODE_ARGS = ['--title=push-websocket-master-starting', MAIN];

/** Fast pushes for tests: the hello and pushes arrive within a fraction of a second. */
export const FAST = ['--interval-min', '0.05', '--interval-max', '0.1'];

const running = new Set<ServerProcess>();

/** The real compiled server, started as a child process on a free port. */
export class ServerProcess {
  /** stdout and stderr together, as they arrived. */
  output = '';
  /** stdout alone (the log lines below error level). */
  stdout = '';
  host = '127.0.0.1';
  port = 0;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    const append = (chunk: Buffer): void => {
      this.output += chunk.toString();
      for (const listener of [...this.listeners]) listener();
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      append(chunk);
    });
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get url(): string {
    return `ws://${this.host}:${this.port}/`;
  }

  get httpUrl(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** Resolves with the match once the output has a line matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs = HANG_BOUND_MS): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = this.output.match(pattern);
        if (match === null) return false;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(match);
        return true;
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(
          new Error(`no log line matching ${pattern} in ${timeoutMs} ms; output:\n${this.output}`),
        );
      }, timeoutMs);
      if (!check()) this.listeners.add(check);
    });
  }

  /** Pids of the master's live children (workers and spares). */
  workerPids(): number[] {
    return childrenOf(this.pid)
      .filter((child) => child.state !== 'Z')
      .map((child) => child.pid);
  }

  /** Stops the server by PID (SIGTERM, then SIGKILL after a bound) and any worker left. */
  async stop(timeoutMs = 8000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const workers = this.workerPids();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    for (const pid of workers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    return this.exited;
  }
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready line. */
  timeoutMs?: number;
}

export async function startServer(
  args: string[] = [],
  options: StartOptions = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS, '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = new ServerProcess(child);
  running.add(server);
  const match = await Promise.race([
    server.waitForLog(/Server started on (\[[^\]]+\]|[^\s":]+):(\d+)/, options.timeoutMs ?? 10000),
    server.exited.then(({ code }) => {
      throw new Error(`server exited (${code}) before it was ready:\n${server.output}`);
    }),
  ]);
  server.host = match[1].replace(/^\[|\]$/g, '');
  server.port = Number(match[2]);
  return server;
}

/** Stops every server a test file started (call from afterAll/afterEach). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}
