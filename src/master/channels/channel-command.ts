import { spawn, type ChildProcess } from 'node:child_process';
import { readLines } from '../../shared/line-splitter';
import { signalGroup } from '../../shared/process-group';
import type { ChannelCommand } from '../../shared/config';
import { Backoff } from '../backoff';
import type { Logger } from '../observability/logger';

/** A run that lasted this long counts as healthy: the back-off starts again from its floor. */
const HEALTHY_RUN_MS = 10_000;
/** How long a command gets after SIGTERM (server stopping) before SIGKILL. */
const STOP_GRACE_MS = 2000;

/**
 * A channel fed by one command (--channel-exec /ticker="vmstat 1"), run once by the
 * master, not per client. Each line it writes to stdout is published to the channel
 * (through the broker: with several instances, each runs its own copy for its own
 * clients' channel, and each copy's lines reach every instance). If it exits, it is
 * started again after a back-off (1 s doubling to 60 s; a run of 10 s resets it).
 * Its stderr goes to the log. It runs in a process group of its own.
 */
export class ChannelCommandRunner {
  private child: ChildProcess | undefined;
  private readonly backoff = new Backoff(1000, 60_000);
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private droppedSince = 0;

  constructor(
    private readonly command: ChannelCommand,
    private readonly publish: (channel: string, line: string) => Promise<unknown>,
    private readonly maxLineBytes: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const { channel, argv } = this.command;
    const started = Date.now();
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    child.on('error', (error) =>
      this.logger.error(`--channel-exec ${channel}: ${argv[0]}: ${error.message}`),
    );
    readLines(child.stdout, this.maxLineBytes, (line) => this.publishLine(line));
    readLines(child.stderr, this.maxLineBytes, (line) =>
      this.logger.info(`--channel-exec ${channel} stderr: ${line}`),
    );
    child.on('exit', (code, signal) => {
      this.child = undefined;
      if (this.stopped) return;
      if (Date.now() - started >= HEALTHY_RUN_MS) this.backoff.reset();
      const delay = this.backoff.fail();
      this.logger.warn(
        `--channel-exec ${channel}: ${argv[0]} exited (code ${code}, signal ${signal}); restart in ${delay} ms`,
      );
      this.restartTimer = setTimeout(() => this.start(), delay);
    });
    if (child.pid !== undefined) {
      this.logger.info(`--channel-exec ${channel}: started ${argv[0]} (pid ${child.pid})`);
    }
  }

  /** Ends the command's process group (SIGTERM, then SIGKILL); resolves once it is gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    signalGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child.pid as number, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  private publishLine(line: string): void {
    this.publish(this.command.channel, line).then(
      () => {
        if (this.droppedSince === 0) return;
        this.logger.warn(
          `--channel-exec ${this.command.channel}: ${this.droppedSince} line(s) were not published`,
        );
        this.droppedSince = 0;
      },
      (error: Error) => {
        if (this.droppedSince++ === 0) {
          this.logger.warn(
            `--channel-exec ${this.command.channel}: not published: ${error.message}`,
          );
        }
      },
    );
  }
}
