/**
 * The worker loop: one process per client, forked by the master (src/worker-pool.ts).
 *
 * It starts idle, reports `ready`, and waits for the hand-off: an IPC message with
 * the client's socket. From then on it alone reads and writes that socket, pushes
 * the demo messages, and exits with its client. It imports only the pure protocol
 * code and its own files: no yargs, no winston, nothing of the master.
 */
import type { Socket } from 'node:net';
import { WORKER_CONFIG_ENV, type WorkerConfig } from '../src/config';
import type { ClientHandoff, MasterMessage, WorkerMessage } from '../src/ipc';
import { CloseCode } from '../src/protocol/constants';
import { DemoPushes } from './demo-pushes';
import { WebSocketEndpoint } from './websocket-endpoint';

const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as WorkerConfig;
delete process.env[WORKER_CONFIG_ENV];

let endpoint: WebSocketEndpoint | undefined;
let pushes: DemoPushes | undefined;
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
  if (endpoint === undefined) process.exit(0);
  endpoint.close(code, reason);
}

function serve(handoff: ClientHandoff, socket: Socket): void {
  process.title = `push-websocket worker #${handoff.id} ${handoff.remote}`;
  endpoint = new WebSocketEndpoint(
    socket,
    { maxMessageSize: config.maxMessageSize, pingIntervalMs: config.pingInterval * 1000 },
    {
      onText(text) {
        if (quitting) return;
        const action = text.trim();
        if (action === 'quit' || action === 'exit') {
          quitting = true;
          pushes?.stop();
          tell({ type: 'quit', text: action });
        } else {
          const shown =
            action.length > 200 ? `${action.slice(0, 200)}… (${action.length} chars)` : action;
          log('info', `Performing action: ${shown}`);
        }
      },
      onLog: log,
      onClosed() {
        pushes?.stop();
        process.exit(0);
      },
    },
  );
  endpoint.start(Buffer.from(handoff.head, 'base64'));
  endpoint.sendText(`Connected to worker PID ${process.pid} as client #${handoff.id}`);
  pushes = new DemoPushes(config.intervalMin, config.intervalMax, (text) => {
    if (!endpoint?.isOpen) return;
    endpoint.sendText(text);
    pushed++;
    log('debug', `Send '${text}' to client #${handoff.id}`);
  });
  pushes.start();
}

process.on('message', (message: MasterMessage, handle?: unknown) => {
  switch (message.type) {
    case 'client':
      if (endpoint === undefined && handle !== undefined) serve(message, handle as Socket);
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

tell({ type: 'ready' });
