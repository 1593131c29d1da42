import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { childrenOf, isAlive } from './proc';

/** The project's root, from dist/scripts/lib or from scripts/lib (under jest). */
export const ROOT = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..',
);
/** The compiled server's entry point in a checkout. */
export const mainIn = (root: string): string => path.join(root, 'dist/src/main.js');
export const MAIN = mainIn(ROOT);
/** As `npm start` runs it: the --title gives process.title room for the whole title. */
const TITLE_FLAG = '--title=push-websocket-master-starting';
export const NODE_ARGS = [TITLE_FLAG, MAIN];

/** The ready line every server here prints once it accepts clients. */
const READY = /Server started on (\[[^\]]+\]|[^\s":]+):(\d+)/;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every process started here that has not exited yet (see stopStartedOnSignal). */
const live = new Set<LoggedProcess>();

/**
 * For a script run by hand (the bench and its investigations): SIGINT or SIGTERM stops
 * every server it started, by PID, with the servers' workers, before it exits. A bench
 * killed by PID left its servers (and their spares) running. Not for jest: a test file
 * stops its own in afterAll.
 */
export function stopStartedOnSignal(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const code = signal === 'SIGINT' ? 130 : 143;
    process.once(signal, () => {
      // The signal goes to each server now, synchronously: the script's own code may
      // exit first, seeing its servers gone; it then exits with the signal's code.
      process.on('exit', () => (process.exitCode = code));
      const stops = [...live].map((started) => started.terminateTree(5000));
      void Promise.allSettled(stops).then(() => process.exit(code));
    });
  }
}

/**
 * A child process whose output is collected and whose exit is awaited: a server run in
 * the foreground (ours, redis-server, websocketd, nginx), stopped by its PID.
 */
export class LoggedProcess {
  /** stdout and stderr together, as they arrived. */
  output = '';
  /** stdout alone (the log lines below error level). */
  stdout = '';
  readonly exited: Promise<Exit>;
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
    live.add(this);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(this);
        resolve({ code, signal });
      });
      // A program that could not be started (ENOENT, EACCES) emits 'error' and no
      // 'exit': it counts as exited, with why in its output, so readyOn says so
      // instead of the process dying of an unhandled 'error' event.
      child.on('error', (error) => {
        if (child.pid !== undefined) return;
        live.delete(this);
        this.output += `could not start it: ${error.message}\n`;
        resolve({ code: null, signal: null });
      });
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the match once the output has a line matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs = 15000): Promise<RegExpMatchArray> {
    return this.lineOrExit(pattern, timeoutMs);
  }

  /** Waits for a line matching `pattern`; rejects at once if the process exits first. */
  readyOn(pattern: RegExp, timeoutMs = 15000, what = 'it'): Promise<RegExpMatchArray> {
    return this.lineOrExit(pattern, timeoutMs, what);
  }

  /** The line, or a rejection after `timeoutMs` (or, given `what`, at its exit); no timer left behind. */
  private lineOrExit(pattern: RegExp, timeoutMs: number, what?: string): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let done = false;
      const end = (): void => {
        done = true;
        this.listeners.delete(check);
        clearTimeout(timer);
      };
      const check = (): boolean => {
        const match = this.output.match(pattern);
        if (match === null) return false;
        end();
        resolve(match);
        return true;
      };
      const timer = setTimeout(() => {
        end();
        reject(
          new Error(`no log line matching ${pattern} in ${timeoutMs} ms; output:\n${this.output}`),
        );
      }, timeoutMs);
      if (check()) return;
      this.listeners.add(check);
      if (what === undefined) return;
      void this.exited.then(({ code }) => {
        if (done || check()) return;
        end();
        reject(new Error(`${what} exited (${code}) before it was ready:\n${this.output}`));
      });
    });
  }

  /**
   * Stops it by PID (`signal`, then SIGKILL after `timeoutMs`), and SIGKILLs whatever
   * children it had that are still alive (workers, commands).
   */
  async terminateTree(timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    const children = childrenOf(this.pid).map((child) => child.pid);
    await this.terminate(timeoutMs, signal);
    for (const pid of children) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    return this.exited;
  }

  /** Sends `signal` by PID, then SIGKILL if it has not exited after `timeoutMs`. */
  async terminate(timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }
}

/**
 * A server that prints the ready line (ours, or a reference server): its address taken
 * from that line; stopped with its workers. Tests and the benchmarks share it.
 */
export class ServerProcess extends LoggedProcess {
  host = '127.0.0.1';
  port = 0;

  /** Spawns `command args` with piped output (stdin ignored). */
  static spawn(command: string, args: string[], options: SpawnOptions = {}): ServerProcess {
    return new ServerProcess(
      spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }),
    );
  }

  /** Our compiled server, as `npm start` runs it, with these flags. */
  static ours(args: string[], options: SpawnOptions = {}): ServerProcess {
    return ServerProcess.builtIn(ROOT, args, options);
  }

  /**
   * Our server as built in the checkout `root` (root/dist/src/main.js: another build,
   * for before/after comparisons), run as `npm start` runs it there, with these flags.
   */
  static builtIn(root: string, args: string[], options: SpawnOptions = {}): ServerProcess {
    return ServerProcess.spawn(process.execPath, [TITLE_FLAG, mainIn(root), ...args], {
      cwd: root,
      ...options,
    });
  }

  get url(): string {
    return `ws://${this.host}:${this.port}/`;
  }

  get httpUrl(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** Waits for the ready line and takes the address from it; rejects if it exits first. */
  async ready(timeoutMs = 15000): Promise<this> {
    const match = await this.readyOn(READY, timeoutMs, 'server');
    this.host = match[1].replace(/^\[|\]$/g, '');
    this.port = Number(match[2]);
    return this;
  }

  /** Pids of the master's live children (workers and spares). */
  workerPids(): number[] {
    return childrenOf(this.pid)
      .filter((child) => child.state !== 'Z')
      .map((child) => child.pid);
  }

  /** Stops the server by PID (SIGTERM, then SIGKILL after a bound) and any worker left. */
  async stop(timeoutMs = 8000): Promise<Exit> {
    return this.terminateTree(timeoutMs);
  }
}
