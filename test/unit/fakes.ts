import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../src/master/observability/logger';
import type { MasterMessage } from '../../src/shared/ipc';

/**
 * Stand-ins for the master's collaborators in unit tests (not a test file itself):
 * a child process that forks nothing and a logger that keeps its lines.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LogEntry {
  level: LogLevel;
  message: string;
  meta?: unknown;
}

/** A Logger that records every line, for assertions on what an operator would read. */
export class FakeLogger {
  readonly entries: LogEntry[] = [];
  flushed = 0;

  readonly logger: Logger = {
    error: this.record('error'),
    warn: this.record('warn'),
    info: this.record('info'),
    debug: this.record('debug'),
    isDebugEnabled: () => true,
    flush: () => {
      this.flushed++;
      return Promise.resolve();
    },
  } as unknown as Logger;

  /** The messages logged at one level, oldest first. */
  at(level: LogLevel): string[] {
    return this.entries.filter((entry) => entry.level === level).map((entry) => entry.message);
  }

  private record(level: LogLevel): (message: string, meta?: unknown) => Logger {
    return (message, meta) => {
      this.entries.push({ level, message, meta });
      return this.logger;
    };
  }
}

let nextPid = 40_000;

/**
 * A forked worker as the pool sees it: IPC messages out (`sent`), signals in
 * (`signals`), and helpers to play the worker's side (`ready`, `exit`).
 * With `autoAck` false, send callbacks wait until `ack()` (a worker that is not reading).
 */
export class FakeChild extends EventEmitter {
  readonly pid: number | undefined;
  connected = true;
  autoAck = true;
  readonly sent: MasterMessage[] = [];
  readonly signals: string[] = [];
  private readonly pendingAcks: (() => void)[] = [];
  /** When set, kill() throws it (the process is already gone). */
  killError: Error | undefined;

  /** `null`: a fork the kernel refused (Node leaves such a child without a pid). */
  constructor(pid: number | null = nextPid++) {
    super();
    this.pid = pid ?? undefined;
  }

  get asChild(): ChildProcess {
    return this as unknown as ChildProcess;
  }

  send(message: MasterMessage, callback?: (error: Error | null) => void): boolean {
    this.sent.push(message);
    if (callback !== undefined) {
      if (this.autoAck) callback(null);
      else this.pendingAcks.push(() => callback(null));
    }
    return true;
  }

  /** Runs up to `count` held send callbacks, oldest first. */
  ack(count = Infinity): void {
    for (let i = 0; i < count && this.pendingAcks.length > 0; i++) this.pendingAcks.shift()?.();
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.signals.push(signal);
    if (this.killError !== undefined) throw this.killError;
    return true;
  }

  ready(): void {
    this.emit('message', { type: 'ready' });
  }

  exit(code: number | null = 0, signal: NodeJS.Signals | null = null): void {
    this.connected = false;
    this.emit('exit', code, signal);
  }
}
