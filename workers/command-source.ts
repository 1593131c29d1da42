import { launchOf, NO_SANDBOX, type CommandSandbox } from '../src/shared/command-sandbox';
import { APP_CLOSE_REASON, AppCloseCode } from '../src/shared/protocol/close-codes';
import { CloseCode } from '../src/shared/protocol/constants';
import { CommandEndpoint } from './command-endpoint';
import { ClientCgroup } from '../src/shared/client-cgroup';
import { LimitWatch, type LimitHit } from './limit-watch';
import type { ClientSink, PushSource } from './push-source';

export interface CommandSettings {
  /** The command and its arguments (--exec's words, or the --dir script). */
  argv: string[];
  /**
   * Its environment, or the promise of it (--reverse-lookup asks the resolver for the
   * client's name first; the command starts once it is known).
   */
  env: NodeJS.ProcessEnv | Promise<NodeJS.ProcessEnv>;
  /** --max-buffered: output pauses above it; also the longest line or chunk. */
  maxBuffered: number;
  /** --binary: raw bytes both ways. */
  binary: boolean;
  /** --close-ms: the wait between the steps that end the command. */
  closeMs: number;
  /** --exec-user, --exec-limit, --line-buffered; absent: none. */
  sandbox?: CommandSandbox;
  /** Told the command's pid (the master kills its group if this worker dies). */
  started(pid: number): void;
  /** A sandbox limit ended the command (the client is then closed with 4005). */
  limitExceeded?(hit: LimitHit): void;
}

/**
 * The --exec (or --dir) command of one client, joined to it, as websocketd joins them.
 * Its stdout lines become text frames (with --binary, its stdout chunks binary frames);
 * while the socket's send buffer is over --max-buffered we stop reading stdout, so the
 * pipe fills, the command blocks in write(), and a slow client slows down its own
 * command instead of growing this process. The socket's 'drain' resumes it. When the
 * client goes, the command is ended gracefully: stdin EOF, then SIGINT, SIGTERM and
 * SIGKILL to its process group, --close-ms apart.
 */
export class CommandSource implements PushSource {
  private command: CommandEndpoint | undefined;
  private stopping: Promise<void> | undefined;
  /** What the client sent before the command started (while its name was looked up). */
  private pending: ((command: CommandEndpoint) => void)[] = [];
  private pendingBytes = 0;
  private client: ClientSink | undefined;
  private cgroup: ClientCgroup | undefined;

  constructor(private readonly settings: CommandSettings) {}

  start(client: ClientSink): void {
    this.client = client;
    Promise.resolve(this.settings.env).then(
      (env) => this.launch(client, env),
      (error: Error) => {
        client.log('error', `command environment failed: ${error.message}`);
        client.close(CloseCode.InternalError, 'command failed to start');
      },
    );
  }

  fromClient(text: string): boolean {
    this.toCommand(Buffer.byteLength(text) + 1, (command) => command.send(text));
    return true;
  }

  /** A binary message goes to stdin as it is, in either mode (as websocketd writes it). */
  fromClientBytes(data: Buffer): boolean {
    this.toCommand(data.length, (command) => command.sendBytes(data));
    return true;
  }

  /** Ends the command (resolves once its process group is gone). Safe to call twice. */
  stop(): Promise<void> {
    const name = this.settings.argv[0];
    this.stopping ??= (
      this.command
        ?.end()
        .then((step) => this.client?.log('debug', `command ${name} ended (${step})`)) ??
      Promise.resolve()
    ).then(async () => {
      if (this.cgroup !== undefined && !(await this.cgroup.remove())) {
        this.client?.log('warn', `command ${name}: its cgroup could not be removed`);
      }
    });
    return this.stopping;
  }

  private launch(client: ClientSink, env: NodeJS.ProcessEnv): void {
    if (this.stopping !== undefined) return; // the client left while its name was looked up
    const { argv, maxBuffered, binary, closeMs, sandbox = NO_SANDBOX } = this.settings;
    const name = argv[0];
    const launch = launchOf(argv, sandbox);
    const cgroup = sandbox.cgroup && new ClientCgroup(sandbox.cgroup);
    try {
      cgroup?.create();
    } catch (error) {
      client.log('error', `command cgroup failed: ${(error as Error).message}`);
      client.close(CloseCode.InternalError, 'command failed to start');
      void cgroup?.remove();
      return;
    }
    this.cgroup = cgroup;
    const watch = new LimitWatch(sandbox, cgroup);
    const endedByUs = (): boolean => this.stopping !== undefined;
    const limitExceeded = (hit: LimitHit): void => this.settings.limitExceeded?.(hit);
    const command = new CommandEndpoint(
      launch.argv,
      { ...env, ...launch.env },
      maxBuffered,
      {
        onLine(line) {
          if (client.send(line)) command.pauseOutput();
        },
        onBytes(chunk) {
          if (client.sendBytes(chunk)) command.pauseOutput();
        },
        onStderrLine(line) {
          client.log('info', `${name} stderr: ${line}`);
        },
        onStartError(error) {
          client.log('error', `command ${name} failed to start: ${error.message}`);
          client.close(CloseCode.InternalError, 'command failed to start');
        },
        onExit(code, signal) {
          const hit = watch.verdict(signal, endedByUs());
          if (hit !== undefined) {
            limitExceeded(hit);
            const closeCode = AppCloseCode.LimitExceeded;
            client.close(closeCode, `${APP_CLOSE_REASON[closeCode]}: ${hit.limit}`);
            return;
          }
          client.log('info', `command ${name} exited (code ${code}, signal ${signal})`);
          client.close(CloseCode.Normal, '');
        },
      },
      { binary, closeMs, user: launch.user, beforeRun: cgroup && ((pid) => cgroup.join(pid)) },
    );
    this.command = command;
    client.onDrain(() => command.resumeOutput());
    const pid = command.start();
    if (pid !== undefined) {
      this.settings.started(pid);
      watch.start(pid);
    }
    for (const write of this.pending.splice(0)) write(command);
  }

  /**
   * Sends to the command's stdin, or keeps it until the command has started. What waits
   * is bounded by --max-buffered: past it, the rest is dropped.
   */
  private toCommand(bytes: number, write: (command: CommandEndpoint) => void): void {
    if (this.command !== undefined) {
      write(this.command);
      return;
    }
    if (this.pendingBytes + bytes > this.settings.maxBuffered) return;
    this.pendingBytes += bytes;
    this.pending.push(write);
  }
}
