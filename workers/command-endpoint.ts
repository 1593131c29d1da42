import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { ExecUser } from '../src/shared/command-sandbox';
import { readLines } from '../src/shared/line-splitter';
import { groupAlive, signalGroup } from '../src/shared/process-group';

export interface CommandEvents {
  /** A line the command wrote to stdout (text mode). */
  onLine(line: string): void;
  /** Bytes the command wrote to stdout, as read (binary mode; required there). */
  onBytes?(chunk: Buffer): void;
  /** A line the command wrote to stderr (for the log). */
  onStderrLine(line: string): void;
  /** The command could not be started. */
  onStartError(error: Error): void;
  /** The command has exited (after it started). */
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
}

export interface CommandOptions {
  /**
   * --binary: stdout goes to onBytes as raw chunks (no line splitting; a chunk longer
   * than maxLineBytes is cut there), and sendBytes writes raw bytes to stdin.
   */
  binary?: boolean;
  /** --close-ms: how long end() waits after each step before the next. Default 100. */
  closeMs?: number;
  /**
   * --exec-user: the uid and gid the command runs as. libuv switches in the child before
   * the exec, and drops every supplementary group (setgroups(0, NULL)) when it does.
   */
  user?: ExecUser;
  /**
   * Called with the command's pid after the spawn and before the command runs (it
   * moves it into its cgroup): until it returns, a small shell waits on a pipe (fd 3)
   * and only then execs the command, so that nothing it forks escapes. A throw ends it.
   */
  beforeRun?: (pid: number) => void;
}

/** The shell that waits for beforeRun: one line on fd 3 (EOF: the worker is gone, exit). */
const GATE = ['/bin/sh', '-c', 'read _ <&3 || exit 125; exec 3<&-; exec "$@"', 'sh'];

/** What finally ended the command in end(); "not running" if it never started. */
export type EndStep = 'stdin closed' | 'SIGINT' | 'SIGTERM' | 'SIGKILL' | 'not running';

export const DEFAULT_CLOSE_MS = 100;

/** After SIGKILL, how long end() waits at most (a process stuck in the kernel). */
const KILL_BOUND_MS = 2000;

/** How often end() looks whether the rest of the group is gone, once the command is. */
const GROUP_POLL_MS = 10;

/**
 * The --exec command of one client, as websocketd runs one: its stdout goes to the
 * client (lines, or raw bytes with --binary), the client's messages go to its stdin
 * (a text message as one line, a binary one as it is). It runs in a process group of
 * its own, so that ending it ends whatever it started too, and so that a Ctrl-C on the
 * terminal reaches only the master, which decides.
 */
export class CommandEndpoint {
  private child: ChildProcess | undefined;
  private exited = false;
  private ending: Promise<EndStep> | undefined;
  private readonly exitWaiters: (() => void)[] = [];
  private readonly binary: boolean;
  private readonly closeMs: number;
  private readonly user: ExecUser | undefined;
  private readonly beforeRun: ((pid: number) => void) | undefined;

  constructor(
    private readonly argv: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly maxLineBytes: number,
    private readonly events: CommandEvents,
    options: CommandOptions = {},
  ) {
    this.binary = options.binary === true;
    this.closeMs = options.closeMs ?? DEFAULT_CLOSE_MS;
    this.user = options.user;
    this.beforeRun = options.beforeRun;
    if (this.binary && events.onBytes === undefined) {
      throw new Error('binary mode needs an onBytes event');
    }
  }

  /** Starts the command; returns its pid, or undefined if it could not start. */
  start(): number | undefined {
    const gated = this.beforeRun !== undefined;
    const [command, ...args] = gated ? [...GATE, ...this.argv] : this.argv;
    const child = spawn(command, args, {
      env: this.env,
      stdio: gated ? ['pipe', 'pipe', 'pipe', 'pipe'] : 'pipe',
      detached: true,
      uid: this.user?.uid,
      gid: this.user?.gid,
    });
    this.child = child;
    child.on('error', (error) => {
      if (child.pid === undefined) this.markExited(() => this.events.onStartError(error));
    });
    child.on('exit', (code, signal) => this.markExited(() => this.events.onExit(code, signal)));
    child.stdin?.on('error', () => undefined); // the command may close stdin early
    if (this.binary) {
      // The constructor refused binary mode without onBytes.
      this.passBytes(child.stdout, (chunk) => this.events.onBytes?.(chunk));
    } else {
      readLines(child.stdout, this.maxLineBytes, (line) => this.events.onLine(line));
    }
    readLines(child.stderr, this.maxLineBytes, (line) => this.events.onStderrLine(line));
    if (gated && child.pid !== undefined) this.open(child, child.pid);
    return child.pid;
  }

  /** Runs beforeRun, then lets the gate exec the command (or kills it, if that failed). */
  private open(child: ChildProcess, pid: number): void {
    const gate = child.stdio[3] as Writable | null;
    gate?.on('error', () => undefined);
    try {
      this.beforeRun?.(pid);
    } catch (error) {
      child.kill('SIGKILL');
      this.markExited(() => this.events.onStartError(error as Error));
      return;
    }
    gate?.end('\n');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Writes one client text message to the command's stdin, as one line (binary mode too). */
  send(text: string): void {
    if (this.writable()) this.child?.stdin?.write(`${text}\n`);
  }

  /** Writes raw bytes (a client binary message, in either mode) to the command's stdin. */
  sendBytes(bytes: Buffer): void {
    if (this.writable()) this.child?.stdin?.write(bytes);
  }

  /** Stops reading stdout: the pipe fills and the command blocks on its writes. */
  pauseOutput(): void {
    this.child?.stdout?.pause();
  }

  resumeOutput(): void {
    this.child?.stdout?.resume();
  }

  /**
   * Ends the command gracefully, as websocketd does when its client leaves: closes its
   * stdin (many commands end at EOF), then sends its process group SIGINT, SIGTERM and
   * SIGKILL, each after closeMs if the group is not gone yet. Gone means the command
   * has exited and no process of its group is left (a background child is ended too).
   * Resolves with the step that did it. Calling it again gives the same promise.
   */
  end(): Promise<EndStep> {
    this.ending ??= this.runEnd();
    return this.ending;
  }

  private async runEnd(): Promise<EndStep> {
    const pid = this.child?.pid;
    if (pid === undefined) return 'not running';
    this.closeStdin();
    if (await this.waitGone(pid, this.closeMs)) return 'stdin closed';
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      signalGroup(pid, signal);
      if (await this.waitGone(pid, this.closeMs)) return signal;
    }
    signalGroup(pid, 'SIGKILL');
    await this.waitGone(pid, KILL_BOUND_MS);
    return 'SIGKILL';
  }

  /**
   * Closes stdin so the command reads EOF. Bytes still queued (a command that does not
   * read) are dropped: its client is gone, and the close must not wait for them.
   */
  private closeStdin(): void {
    const stdin = this.child?.stdin;
    if (stdin === null || stdin === undefined) return;
    if (stdin.writableLength > 0) stdin.destroy();
    else stdin.end();
  }

  /** True once the command has exited and its group is empty, false after `ms`. */
  private async waitGone(pid: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    if (!this.exited && !(await this.waitExit(ms))) return false;
    while (groupAlive(pid)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(GROUP_POLL_MS, left)));
    }
    return true;
  }

  private waitExit(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const index = this.exitWaiters.indexOf(waiter);
        if (index >= 0) this.exitWaiters.splice(index, 1);
        resolve(false);
      }, ms);
      this.exitWaiters.push(waiter);
    });
  }

  private writable(): boolean {
    return !this.exited && this.ending === undefined;
  }

  private passBytes(stream: NodeJS.ReadableStream | null, onBytes: (chunk: Buffer) => void): void {
    stream?.on('data', (chunk: Buffer) => {
      for (let start = 0; start < chunk.length; start += this.maxLineBytes) {
        onBytes(chunk.subarray(start, start + this.maxLineBytes));
      }
    });
  }

  private markExited(report: () => void): void {
    if (this.exited) return;
    this.exited = true;
    report();
    for (const waiter of this.exitWaiters.splice(0)) waiter();
  }
}
