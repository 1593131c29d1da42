/**
 * The worker loop: one process per client, forked by the master (src/worker-pool.ts).
 *
 * It starts idle, reports `ready`, and waits for the hand-off: an IPC message with
 * the client's socket. From then on it alone reads and writes that socket. Its push
 * source is the original's demo, or the --exec command, plus whatever POST /publish
 * relays. It exits with its client. It imports only the pure protocol code and its
 * own files: no yargs, no winston, nothing of the master.
 */
import type { Socket } from 'node:net';
import { WORKER_CONFIG_ENV, parseWorkerConfig } from '../src/shared/config';
import type { ClientHandoff, MasterMessage, WorkerMessage } from '../src/shared/ipc';
import { CloseCode, Opcode } from '../src/shared/protocol/constants';
import { encodeFrame } from '../src/shared/protocol/frame';
import { Receiver } from '../src/shared/protocol/receiver';
import { CommandEndpoint } from './command-endpoint';
import { DemoPushes, demoMessage, drawInterval } from './demo-pushes';
import { WebSocketEndpoint } from './websocket-endpoint';

const config = parseWorkerConfig(process.env[WORKER_CONFIG_ENV]);
delete process.env[WORKER_CONFIG_ENV];

/** How long a command gets after SIGTERM before SIGKILL. */
const COMMAND_GRACE_MS = 2000;

let endpoint: WebSocketEndpoint | undefined;
let pushes: DemoPushes | undefined;
let command: CommandEndpoint | undefined;
let pushed = 0;
/** Set once the client asked to quit: later messages change nothing. */
let quitting = false;

function tell(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

function log(level: 'error' | 'warn' | 'info' | 'debug', message: string): void {
  if (level !== 'debug' || config.debug) tell({ type: 'log', level, message });
}

/** Ends the worker: with a client, after its socket closed (bounded); idle, at once. */
function finish(code: number, reason: string): void {
  pushes?.stop();
  void command?.terminate(COMMAND_GRACE_MS);
  if (endpoint === undefined) process.exit(0);
  endpoint.close(code, reason);
}

/** The socket is gone: make sure the command is too, then exit (no command outlives its client). */
async function exitAfterClient(): Promise<void> {
  pushes?.stop();
  await command?.terminate(COMMAND_GRACE_MS);
  process.exit(0);
}

function push(text: string): void {
  if (!endpoint?.isOpen) return;
  endpoint.sendText(text);
  pushed++;
}

function onClientText(text: string): void {
  if (quitting) return;
  const action = text.trim();
  if (action === 'quit' || action === 'exit') {
    quitting = true;
    pushes?.stop();
    tell({ type: 'quit', text: action });
    return;
  }
  if (command !== undefined) {
    command.send(text);
    return;
  }
  const shown = action.length > 200 ? `${action.slice(0, 200)}… (${action.length} chars)` : action;
  log('info', `Performing action: ${shown}`);
}

/** A published message; a client too slow to take it is closed rather than buffered without end. */
function publish(data: string): void {
  if (!endpoint?.isOpen) return;
  push(data);
  if (endpoint.bufferedAmount > config.maxBuffered) {
    log(
      'warn',
      `send buffer over --max-buffered (${endpoint.bufferedAmount} bytes), closing with 1008`,
    );
    endpoint.close(CloseCode.PolicyViolation, 'client too slow');
  }
}

/**
 * Joins the command to the client. Its stdout lines become text frames; while the
 * socket's send buffer is over --max-buffered we stop reading stdout, so the pipe
 * fills, the command blocks in write(), and a slow client slows down its own command
 * instead of growing this process. The socket's 'drain' (buffer empty) resumes it.
 */
function runCommand(handoff: ClientHandoff, open: WebSocketEndpoint): void {
  const { request } = handoff;
  const query = request.url.indexOf('?');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REMOTE_ADDR: request.remoteAddress,
    REMOTE_PORT: String(request.remotePort),
    SERVER_PORT: String(request.serverPort),
    REQUEST_URI: request.url,
    QUERY_STRING: query < 0 ? '' : request.url.slice(query + 1),
    HTTP_ORIGIN: request.origin,
    HTTP_USER_AGENT: request.userAgent,
    PUSH_WS_CLIENT_ID: String(handoff.id),
  };
  const argv = config.exec as string[];
  command = new CommandEndpoint(argv, env, config.maxBuffered, {
    onLine(line) {
      push(line);
      if (open.bufferedAmount > config.maxBuffered) command?.pauseOutput();
    },
    onStderrLine(line) {
      log('info', `${argv[0]} stderr: ${line}`);
    },
    onStartError(error) {
      log('error', `command ${argv[0]} failed to start: ${error.message}`);
      open.close(CloseCode.InternalError, 'command failed to start');
    },
    onExit(code, signal) {
      log('info', `command ${argv[0]} exited (code ${code}, signal ${signal})`);
      open.close(CloseCode.Normal, '');
    },
  });
  open.onDrain(() => command?.resumeOutput());
  const pid = command.start();
  if (pid !== undefined) tell({ type: 'command', pid });
}

function serve(handoff: ClientHandoff, socket: Socket): void {
  process.title = `push-websocket worker #${handoff.id} ${handoff.remote}`;
  const open = new WebSocketEndpoint(
    socket,
    { maxMessageSize: config.maxMessageSize, pingIntervalMs: config.pingInterval * 1000 },
    { onText: onClientText, onLog: log, onClosed: () => void exitAfterClient() },
  );
  endpoint = open;
  open.start(Buffer.from(handoff.head, 'base64'));
  if (config.exec !== undefined) {
    runCommand(handoff, open);
  } else if (config.demo) {
    open.sendText(`Connected to worker PID ${process.pid} as client #${handoff.id}`);
    pushes = new DemoPushes(config.intervalMin, config.intervalMax, (text) => {
      push(text);
      log('debug', `Send '${text}' to client #${handoff.id}`);
    });
    pushes.start();
  }
}

process.on('message', (message: MasterMessage, handle?: unknown) => {
  switch (message.type) {
    case 'client':
      if (endpoint === undefined && handle !== undefined) serve(message, handle as Socket);
      return;
    case 'publish':
      publish(message.data);
      return;
    case 'shutdown':
      finish(CloseCode.GoingAway, 'server shutting down');
      return;
    case 'report':
      tell({ type: 'report', pushed });
      return;
  }
});

// The original's posix_kill(pid, SIGTERM) after "quit": close with 1000 and exit.
process.on('SIGTERM', () => finish(CloseCode.Normal, ''));
// Ctrl-C signals the whole process group; the master decides how clients are closed.
process.on('SIGINT', () => undefined);
// The master is gone (crashed or killed): no orphans.
process.on('disconnect', () => finish(CloseCode.GoingAway, 'server gone'));

/**
 * Runs the per-client code paths once on dummy data while idle, so that V8 has parsed
 * and compiled them before a client arrives: its hello and first push go out sooner.
 * Only for a worker still idle a little after it is ready (a spare): one handed a
 * client at once would spend the CPU for nothing.
 */
const WARM_UP_AFTER_MS = 100;

function warmUp(): void {
  if (endpoint !== undefined) return;
  const receiver = new Receiver({ maxMessageSize: config.maxMessageSize });
  receiver.push(
    encodeFrame(Opcode.Text, Buffer.from('warm up'), { mask: Buffer.from([1, 2, 3, 4]) }),
  );
  encodeFrame(
    Opcode.Text,
    Buffer.from(demoMessage(drawInterval(config.intervalMin, config.intervalMax))),
  );
}

tell({ type: 'ready' });
setTimeout(warmUp, WARM_UP_AFTER_MS).unref();
