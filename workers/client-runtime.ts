import type { Socket } from 'node:net';
import type { LogLevel, WorkerConfig } from '../src/shared/config';
import type { ClientHandoff, FirstPushTime, WorkerMessage } from '../src/shared/ipc';
import { CloseCode } from '../src/shared/protocol/constants';
import { DemoSource } from './demo-source';
import { MemoryCeiling } from './memory-ceiling';
import { readPublishPipe } from './publish-pipe';
import { PublishSource } from './publish-source';
import type { PushSource } from './push-source';
import { ClientSession } from './session';
import { scheduleWarmUp } from './warm-up';

const MB = 1024 * 1024;
/** How long a worker over its memory limit waits for its client's close before exiting. */
const EXIT_AFTER_CEILING_MS = 2000;

/** How a worker's runtime talks to its master. */
export interface WorkerIo {
  tell(message: WorkerMessage): void;
  /** Sends a last message and exits once it is written. */
  tellThenExit(message: WorkerMessage): void;
  log(level: LogLevel, message: string): void;
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

/**
 * What a worker does with its one client: the session joined to its push sources, the
 * memory ceiling, the warm-up while it is still a spare. Loaded by the worker's entry
 * right after it said ready, so that the master can count on a spare sooner.
 */
export class ClientRuntime {
  private session: ClientSession | undefined;
  private readonly published: PublishSource;
  /** When the client's first frame went out; told the master once (FirstPushTime). */
  private firstPushAt: number | undefined;
  private firstPushTold = false;

  constructor(
    private readonly config: WorkerConfig,
    private readonly io: WorkerIo,
  ) {
    this.published = new PublishSource();
    // With --exec every client has a command: load its modules while idle, not at hand-off.
    if (config.exec !== undefined) commandParts();
    scheduleWarmUp(config, () => this.session === undefined);
  }

  get serving(): boolean {
    return this.session !== undefined;
  }

  serve(handoff: ClientHandoff, socket: Socket): void {
    const { config, io } = this;
    process.title = `push-websocket worker #${handoff.id} ${handoff.remote}`;
    const ceiling = new MemoryCeiling(config.memoryLimitMb * MB, (rss) => {
      io.log(
        'error',
        `worker RSS ${Math.round(rss / MB)} MB is over --worker-memory-limit ` +
          `${config.memoryLimitMb} MB, closing with 1011`,
      );
      this.close(CloseCode.InternalError, 'worker memory limit');
      // Closing may need the client to read; the limit must hold even if it never does.
      setTimeout(() => process.exit(1), EXIT_AFTER_CEILING_MS).unref();
    });
    const session = new ClientSession(
      handoff,
      socket,
      config,
      this.sourcesFor(handoff),
      {
        onQuit: (word) => io.tell({ type: 'quit', text: word }),
        log: (level, message) => io.log(level, message),
        onFirstPush: () => {
          this.firstPushAt = Date.now();
        },
        onActivity: () => ceiling.touch(),
        onEnded: ({ code, side }) => {
          io.tellThenExit({
            type: 'closed',
            code,
            side,
            frames: session.frameCount,
            ...this.firstPushTime(),
          });
        },
      },
      config.quitWords,
    );
    this.session = session;
    ceiling.touch();
    session.start();
    // Publications after the client's first frames (the master writes only after the hand-off).
    if (!readPublishPipe((frames, count) => this.published.deliver(frames, count))) {
      io.log('warn', 'no publish pipe (fd 4): published messages will not reach this client');
    }
  }

  /** Published frames read off the control socket after a hot upgrade (as off the pipe). */
  deliver(frames: Buffer, count: number): void {
    this.published.deliver(frames, count);
  }

  /** Closes the client (the worker exits once its socket has closed). */
  close(code: number, reason: string): void {
    this.session?.close(code, reason);
  }

  report(): { pushed: number; frames: number } {
    return { pushed: this.session?.pushCount ?? 0, frames: this.session?.frameCount ?? 0 };
  }

  /** The answer to the master's `report`: the counts, and the first push's time once. */
  reportMessage(): WorkerMessage {
    return { type: 'report', ...this.report(), ...this.firstPushTime() };
  }

  /** The first push's time, if not told yet (then marked told). */
  private firstPushTime(): FirstPushTime {
    const at = this.firstPushAt;
    if (at === undefined || this.firstPushTold) return {};
    this.firstPushTold = true;
    return { firstPushAt: at };
  }

  /** The sources this server's flags ask for: the command or the demo, and publishes. */
  private sourcesFor(handoff: ClientHandoff): PushSource[] {
    const { config, io } = this;
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
          sandbox: config.sandbox,
          started: (pid) => io.tell({ type: 'command', pid }),
          limitExceeded: ({ limit, detail }) => io.tell({ type: 'limit', limit, detail }),
        }),
      );
    } else if (config.demo) {
      sources.push(new DemoSource(handoff.id, config.intervalMin, config.intervalMax));
    }
    sources.push(this.published);
    return sources;
  }
}
