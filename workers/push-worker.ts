/**
 * The worker process: one per client, forked by the master (src/master/pool/).
 *
 * It starts idle, reports `ready` as soon as it has its settings, then loads what
 * serving a client takes (workers/client-runtime.ts) while it waits for the hand-off:
 * an IPC message with the client's socket. From then on it alone reads and writes that
 * socket, in a ClientSession joined to its push sources: the original's demo or the
 * --exec command, plus whatever POST /publish relays (on the publish pipe, read once it
 * serves a client: src/shared/publish-stream.ts). It exits with its client. It
 * imports only src/shared/ and its own files: no yargs, no winston, nothing of the master.
 */
import type { Socket } from 'node:net';
import { WORKER_CONFIG_ENV, type LogLevel, type WorkerConfig } from '../src/shared/config';
import type { AdoptRequest } from '../src/shared/control-channel';
import type { ClientHandoff, MasterMessage, WorkerMessage } from '../src/shared/ipc';
import { CloseCode } from '../src/shared/protocol/constants';
import { parseWorkerConfig } from '../src/shared/worker-config';
import type { ClientRuntime } from './client-runtime';
import type { MasterLink } from './master-link';

/** The config the master handed over, checked; a bad one ends the worker with one line. */
function readConfig(): WorkerConfig {
  try {
    return parseWorkerConfig(process.env[WORKER_CONFIG_ENV]);
  } catch (error) {
    process.stderr.write(`push-websocket worker: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

const config = readConfig();
delete process.env[WORKER_CONFIG_ENV];

/** The client served, as handed over (for a new master after a hot upgrade). */
let served: { handoff: ClientHandoff; since: number } | undefined;
/** Its --exec command's pid, once started. */
let commandPid: number | undefined;

/**
 * The link to a master once a hot upgrade has begun (workers/master-link.ts): loaded
 * then, not at start (a spare loads only its settings before it says ready).
 */
let link: MasterLink | undefined;

function masterLink(): MasterLink {
  if (link === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at a hot upgrade
    const { MasterLink } = require('./master-link') as typeof import('./master-link');
    link = new MasterLink({
      onMessage: (message) => onMessage(message),
      onGone: () => finish(CloseCode.GoingAway, 'server gone'),
      deliver: (frames, count) => runtime?.deliver(frames, count),
      adoptRequest,
      onAdopted: (master) => {
        if (served !== undefined) {
          const { id, remote } = served.handoff;
          process.title = `push-websocket worker #${id} ${remote} (master ${master})`;
        }
      },
      log: (level, message) => log(level, message),
    });
  }
  return link;
}

function tell(message: WorkerMessage): void {
  if (message.type === 'command') commandPid = message.pid;
  if (link !== undefined) link.tell(message);
  else if (process.connected) process.send?.(message);
}

/** Sends a last message and exits once it is written (bounded: the master may be gone). */
function tellThenExit(message: WorkerMessage): void {
  if (link !== undefined) return link.tellThenExit(message);
  if (!process.connected) process.exit(0);
  process.send?.(message, () => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}

/** Who this worker is and whom it serves, for the master of a hot upgrade. */
function adoptRequest(): AdoptRequest | undefined {
  if (served === undefined || runtime === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at a hot upgrade
  const { adoptRequestOf } = require('./master-link') as typeof import('./master-link');
  return adoptRequestOf({ ...served, ...runtime.report(), command: commandPid });
}

function log(level: LogLevel, message: string): void {
  if (level !== 'debug' || config.debug) tell({ type: 'log', level, message });
}

let runtime: ClientRuntime | undefined;

/** What serving a client takes: loaded once, right after ready (or at hand-off if sooner). */
function clientRuntime(): ClientRuntime {
  if (runtime === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after `ready`
    const { ClientRuntime } = require('./client-runtime') as typeof import('./client-runtime');
    runtime = new ClientRuntime(config, { tell, tellThenExit, log });
  }
  return runtime;
}

/** Ends the worker: with a client, once its socket has closed (bounded); idle, at once. */
function finish(code: number, reason: string): void {
  if (runtime?.serving !== true) process.exit(0);
  runtime.close(code, reason);
}

function onMessage(message: MasterMessage, handle?: unknown): void {
  switch (message.type) {
    case 'client':
      if (runtime?.serving !== true && handle !== undefined) {
        served = { handoff: message, since: Date.now() };
        clientRuntime().serve(message, handle as Socket);
      } else {
        (handle as Socket | undefined)?.destroy(); // never two clients in one worker
      }
      return;
    case 'shutdown':
      finish(CloseCode.GoingAway, 'server shutting down');
      return;
    case 'disconnect':
      finish(message.code, message.reason);
      return;
    case 'report':
      tell(runtime?.reportMessage() ?? { type: 'report', pushed: 0, frames: 0 });
      return;
    case 'handover':
      masterLink().handover(message);
      return;
  }
}

process.on('message', onMessage);

// The original's posix_kill(pid, SIGTERM) after "quit": close with 1000 and exit.
process.on('SIGTERM', () => finish(CloseCode.Normal, ''));
// Ctrl-C signals the whole process group; the master decides how clients are closed.
process.on('SIGINT', () => undefined);
// The master is gone (crashed or killed): no orphans, unless a hand-over is under way
// or done (the link then knows whether a master is left).
process.on('disconnect', () => {
  if (link !== undefined) link.ipcDisconnected();
  else finish(CloseCode.GoingAway, 'server gone');
});

tell({ type: 'ready' });
setImmediate(clientRuntime);
