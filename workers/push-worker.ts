/**
 * The worker process: one per client, forked by the master (src/master/pool/).
 *
 * It starts idle, reports `ready`, and waits for the hand-off: an IPC message with
 * the client's socket. From then on it alone reads and writes that socket, in a
 * ClientSession joined to its push sources: the original's demo or the --exec
 * command, plus whatever POST /publish relays. It exits with its client. It imports
 * only src/shared/ and its own files: no yargs, no winston, nothing of the master.
 */
import type { Socket } from 'node:net';
import { WORKER_CONFIG_ENV, type WorkerConfig } from '../src/shared/config';
import { parseWorkerConfig } from '../src/shared/worker-config';
import type { ClientHandoff, MasterMessage, WorkerMessage } from '../src/shared/ipc';
import { CloseCode } from '../src/shared/protocol/constants';
import { DemoSource } from './demo-source';
import { PublishSource } from './publish-source';
import type { PushSource } from './push-source';
import { MemoryCeiling } from './memory-ceiling';
import { ClientSession } from './session';
import { scheduleWarmUp } from './warm-up';

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

let session: ClientSession | undefined;
const published = new PublishSource(config.maxBuffered);

function tell(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

/** Sends a last message and exits once it is written (bounded: the master may be gone). */
function tellThenExit(message: WorkerMessage): void {
  if (!process.connected) process.exit(0);
  process.send?.(message, () => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}

function log(level: 'error' | 'warn' | 'info' | 'debug', message: string): void {
  if (level !== 'debug' || config.debug) tell({ type: 'log', level, message });
}

type CommandParts = typeof import('./command-source') & typeof import('./command-environment');

/**
 * The modules a command needs (its endpoint, environment, process group), loaded only
 * by a worker that runs one: the others start without their cost.
 */
function commandParts(): CommandParts {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, see above */
  return {
    ...(require('./command-source') as typeof import('./command-source')),
    ...(require('./command-environment') as typeof import('./command-environment')),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** With --exec every client has a command: load its modules while idle, not at hand-off. */
if (config.exec !== undefined) commandParts();

/** The sources this server's flags ask for: the command or the demo, and publishes. */
function sourcesFor(handoff: ClientHandoff): PushSource[] {
  const sources: PushSource[] = [];
  const argv = handoff.command ?? config.exec; // --dir's script, or --exec
  if (argv !== undefined) {
    const { CommandSource, commandEnvironment } = commandParts();
    sources.push(
      new CommandSource({
        argv,
        env: commandEnvironment(handoff, config),
        maxBuffered: config.maxBuffered,
        binary: config.binary,
        closeMs: config.closeMs,
        started: (pid) => tell({ type: 'command', pid }),
      }),
    );
  } else if (config.demo) {
    sources.push(new DemoSource(handoff.id, config.intervalMin, config.intervalMax));
  }
  sources.push(published);
  return sources;
}

function serve(handoff: ClientHandoff, socket: Socket): void {
  process.title = `push-websocket worker #${handoff.id} ${handoff.remote}`;
  session = new ClientSession(
    handoff,
    socket,
    config,
    sourcesFor(handoff),
    {
      onQuit: (word) => tell({ type: 'quit', text: word }),
      log,
      onFirstPush: () => tell({ type: 'first-push' }),
      onEnded: () => {
        const { code, side } = session?.closeInfo ?? { code: undefined, side: 'client' };
        tellThenExit({ type: 'closed', code, side, frames: session?.frameCount ?? 0 });
      },
    },
    config.quitWords,
  );
  session.start();
  new MemoryCeiling(config.memoryLimitMb * MB, (rss) => {
    log(
      'error',
      `worker RSS ${Math.round(rss / MB)} MB is over --worker-memory-limit ` +
        `${config.memoryLimitMb} MB, closing with 1011`,
    );
    finish(CloseCode.InternalError, 'worker memory limit');
    // Closing may need the client to read; the limit must hold even if it never does.
    setTimeout(() => process.exit(1), EXIT_AFTER_CEILING_MS).unref();
  }).start();
}

const MB = 1024 * 1024;
/** How long a worker over its memory limit waits for its client's close before exiting. */
const EXIT_AFTER_CEILING_MS = 2000;

/** Ends the worker: with a client, once its socket has closed (bounded); idle, at once. */
function finish(code: number, reason: string): void {
  if (session === undefined) process.exit(0);
  session.close(code, reason);
}

process.on('message', (message: MasterMessage, handle?: unknown) => {
  switch (message.type) {
    case 'client':
      if (session === undefined && handle !== undefined) serve(message, handle as Socket);
      else (handle as Socket | undefined)?.destroy(); // never two clients in one worker
      return;
    case 'publish':
      published.deliver(message);
      return;
    case 'shutdown':
      finish(CloseCode.GoingAway, 'server shutting down');
      return;
    case 'report':
      tell({ type: 'report', pushed: session?.pushCount ?? 0, frames: session?.frameCount ?? 0 });
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
scheduleWarmUp(config, () => session === undefined);
