import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { readLines } from '../../shared/line-splitter';
import { DEFAULT_PASSENV, passEnvironment } from '../../shared/pass-environment';
import { launchOf, NO_SANDBOX, type CommandSandbox } from '../../shared/command-sandbox';
import { signalGroup } from '../../shared/process-group';
import type { ChannelCommand } from '../../shared/config';
import { findExecutable } from '../cli/find-executable';
import {
  CHANNEL_ARGV_ENV,
  CHANNEL_GRACE_ENV,
  CHANNEL_USER_ENV,
  type SupervisorMessage,
} from './channel-supervisor';
import { Backoff } from '../../shared/exponential-backoff';
import type { Logger } from '../observability/logger';

/** A run that lasted this long counts as healthy: the back-off starts again from its floor. */
const HEALTHY_RUN_MS = 10_000;
/** How long a command gets after SIGTERM (server stopping, or gone) before SIGKILL. */
const STOP_GRACE_MS = 2000;
/** The supervisor, compiled next to this file. */
const SUPERVISOR_ENTRY = path.join(__dirname, 'channel-supervisor.js');
/** A small process: one V8 thread pool thread (as workers). */
const SUPERVISOR_NODE_FLAGS = ['--v8-pool-size=1'];

/**
 * A channel fed by one command (--channel-exec /ticker="vmstat 1"), run once by the
 * master, not per client. Each line it writes to stdout is published to the channel
 * (through the broker: with several instances, each runs its own copy for its own
 * clients' channel, and each copy's lines reach every instance). If it exits, it is
 * started again after a back-off (1 s doubling to 60 s; a run of 10 s resets it).
 * Its stderr goes to the log. It runs in a process group of its own, under a small
 * supervisor process (channel-supervisor.ts) that ends the group when the master goes,
 * even by SIGKILL. Its environment is --passenv's, as an --exec command's: no secret
 * of the server's (tokens, the Redis URL) reaches it.
 */
export class ChannelCommandRunner {
  /** The supervisor (channel-supervisor.ts) of the command's current run. */
  private child: ChildProcess | undefined;
  /** The command's own pid (its process group), once the supervisor told it. */
  private commandPid: number | undefined;
  private readonly backoff = new Backoff(1000, 60_000);
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private droppedSince = 0;

  constructor(
    private readonly command: ChannelCommand,
    private readonly publish: (channel: string, line: string) => Promise<unknown>,
    private readonly maxLineBytes: number,
    private readonly logger: Logger,
    /** --passenv: the only server variables the command sees. */
    private readonly passenv: readonly string[] = DEFAULT_PASSENV,
    /** --exec-user, --exec-limit's rlimits, --line-buffered (per-client limits do not apply). */
    private readonly sandbox: CommandSandbox = NO_SANDBOX,
  ) {}

  start(): void {
    const { channel, argv } = this.command;
    const started = Date.now();
    const launch = launchOf([findExecutable(argv[0]) ?? argv[0], ...argv.slice(1)], {
      ...this.sandbox,
      nproc: undefined,
    });
    const env = {
      ...passEnvironment(process.env, this.passenv),
      ...launch.env,
      [CHANNEL_ARGV_ENV]: JSON.stringify(launch.argv),
      ...(launch.user && { [CHANNEL_USER_ENV]: JSON.stringify(launch.user) }),
      [CHANNEL_GRACE_ENV]: String(STOP_GRACE_MS),
    };
    const child = fork(SUPERVISOR_ENTRY, [], {
      // Its title in `ps`: push-websocket channel /ticker.
      execArgv: [`--title=push-websocket channel ${channel}`, ...SUPERVISOR_NODE_FLAGS],
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    this.commandPid = undefined;
    let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('message', (message: SupervisorMessage) => {
      switch (message.type) {
        case 'started':
          this.commandPid = message.pid;
          this.logger.info(`--channel-exec ${channel}: started ${argv[0]} (pid ${message.pid})`);
          return;
        case 'exit':
          ended = { code: message.code, signal: message.signal };
          return;
        case 'error':
          this.logger.error(`--channel-exec ${channel}: ${argv[0]}: ${message.message}`);
          return;
      }
    });
    child.on('error', (error) =>
      this.logger.error(`--channel-exec ${channel}: supervisor: ${error.message}`),
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
      const how = ended ?? { code, signal };
      this.logger.warn(
        `--channel-exec ${channel}: ${argv[0]} exited (code ${how.code}, signal ${how.signal}); restart in ${delay} ms`,
      );
      this.restartTimer = setTimeout(() => this.start(), delay);
    });
  }

  /** Ends the command's process group (SIGTERM, then SIGKILL); resolves once it is gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.connected) child.send({ type: 'stop' });
    // The supervisor ends the group within the grace; should it hang, both are killed.
    const timer = setTimeout(() => {
      if (this.commandPid !== undefined) signalGroup(this.commandPid, 'SIGKILL');
      child.kill('SIGKILL');
    }, STOP_GRACE_MS + 1000);
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
