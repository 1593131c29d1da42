import type { ClientHandoff } from '../src/shared/ipc';
import { CloseCode } from '../src/shared/protocol/constants';
import { CommandEndpoint } from './command-endpoint';
import type { ClientSink, PushSource } from './push-source';

/** How long a command gets after SIGTERM before SIGKILL. */
const COMMAND_GRACE_MS = 2000;

/**
 * The --exec command of one client, joined to it. Its stdout lines become text frames;
 * while the socket's send buffer is over --max-buffered we stop reading stdout, so the
 * pipe fills, the command blocks in write(), and a slow client slows down its own
 * command instead of growing this process. The socket's 'drain' resumes it.
 */
export class CommandSource implements PushSource {
  private command: CommandEndpoint | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly argv: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly maxBuffered: number,
    /** Told the command's pid (the master kills its group if this worker dies). */
    private readonly started: (pid: number) => void,
  ) {}

  start(client: ClientSink): void {
    const name = this.argv[0];
    const maxBuffered = this.maxBuffered;
    const command = new CommandEndpoint(this.argv, this.env, this.maxBuffered, {
      onLine(line) {
        client.send(line);
        if (client.bufferedAmount > maxBuffered) command.pauseOutput();
      },
      onStderrLine(line) {
        client.log('info', `${name} stderr: ${line}`);
      },
      onStartError(error) {
        client.log('error', `command ${name} failed to start: ${error.message}`);
        client.close(CloseCode.InternalError, 'command failed to start');
      },
      onExit(code, signal) {
        client.log('info', `command ${name} exited (code ${code}, signal ${signal})`);
        client.close(CloseCode.Normal, '');
      },
    });
    this.command = command;
    client.onDrain(() => command.resumeOutput());
    const pid = command.start();
    if (pid !== undefined) this.started(pid);
  }

  fromClient(text: string): boolean {
    this.command?.send(text);
    return true;
  }

  stop(): Promise<void> {
    this.stopping ??= this.command?.terminate(COMMAND_GRACE_MS) ?? Promise.resolve();
    return this.stopping;
  }
}

/**
 * The command's environment: the worker's, plus what only commands get, plus the
 * connection's facts as CGI names them, and the client id.
 */
export function commandEnvironment(
  handoff: ClientHandoff,
  extra: Record<string, string> = {},
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const { request } = handoff;
  const query = request.url.indexOf('?');
  return {
    ...base,
    ...extra,
    REMOTE_ADDR: request.remoteAddress,
    REMOTE_PORT: request.remotePort === undefined ? '' : String(request.remotePort),
    SERVER_PORT: String(request.serverPort),
    REQUEST_URI: request.url,
    QUERY_STRING: query < 0 ? '' : request.url.slice(query + 1),
    HTTP_ORIGIN: request.origin,
    HTTP_USER_AGENT: request.userAgent,
    PUSH_WS_CLIENT_ID: String(handoff.id),
    ...(request.https ? { HTTPS: 'on' } : {}),
  };
}
