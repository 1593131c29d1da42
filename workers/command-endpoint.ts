import { spawn, type ChildProcess } from 'node:child_process';
import { LineSplitter } from '../src/shared/line-splitter';

export interface CommandEvents {
  /** A line the command wrote to stdout. */
  onLine(line: string): void;
  /** A line the command wrote to stderr (for the log). */
  onStderrLine(line: string): void;
  /** The command could not be started. */
  onStartError(error: Error): void;
  /** The command has exited (after it started). */
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * The --exec command of one client, as websocketd runs one: its stdout lines go to the
 * client, the client's messages go to its stdin, one line each. It runs in a process
 * group of its own, so that ending it ends whatever it started too, and so that a
 * Ctrl-C on the terminal reaches only the master, which decides.
 */
export class CommandEndpoint {
  private child: ChildProcess | undefined;
  private exited = false;
  private readonly exitWaiters: (() => void)[] = [];

  constructor(
    private readonly argv: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly maxLineBytes: number,
    private readonly events: CommandEvents,
  ) {}

  /** Starts the command; returns its pid, or undefined if it could not start. */
  start(): number | undefined {
    const [command, ...args] = this.argv;
    const child = spawn(command, args, { env: this.env, stdio: 'pipe', detached: true });
    this.child = child;
    child.on('error', (error) => {
      if (child.pid === undefined) this.markExited(() => this.events.onStartError(error));
    });
    child.on('exit', (code, signal) => this.markExited(() => this.events.onExit(code, signal)));
    child.stdin?.on('error', () => undefined); // the command may close stdin early
    this.splitLines(child.stdout, (line) => this.events.onLine(line));
    this.splitLines(child.stderr, (line) => this.events.onStderrLine(line));
    return child.pid;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Writes one client message to the command's stdin, as one line. */
  send(text: string): void {
    if (!this.exited) this.child?.stdin?.write(`${text}\n`);
  }

  pauseOutput(): void {
    this.child?.stdout?.pause();
  }

  resumeOutput(): void {
    this.child?.stdout?.resume();
  }

  /** SIGTERM to the command's group, SIGKILL after `graceMs`; resolves once it is gone. */
  terminate(graceMs: number): Promise<void> {
    if (this.exited || this.child?.pid === undefined) return Promise.resolve();
    const pid = this.child.pid;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    return new Promise((resolve) =>
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      }),
    );
  }

  private splitLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
    if (stream === null) return;
    const splitter = new LineSplitter(this.maxLineBytes);
    stream.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) onLine(line);
    });
    stream.on('end', () => {
      const rest = splitter.end();
      if (rest !== undefined) onLine(rest);
    });
  }

  private markExited(report: () => void): void {
    if (this.exited) return;
    this.exited = true;
    report();
    for (const waiter of this.exitWaiters.splice(0)) waiter();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
