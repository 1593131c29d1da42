import { assertNever } from '../../shared/assert-never';
import type { ChannelRelay } from '../channels/channel-relay';
import type { Logger } from '../observability/logger';
import type { CommandReaper } from '../pool/command-reaper';
import type { PushCounts } from '../pool/push-counts';
import type { Worker } from '../pool/worker';
import type { ClientMessage, PoolEvents } from '../pool/worker-pool';
import { afterLastMessage } from '../pool/last-words';
import type { ClientDirectory } from './client-directory';
import type { ClientLifecycle } from './client-lifecycle';

/**
 * What the master does when a worker reports about its client: a quit makes it kill
 * that worker (the original's posix_kill), log lines go to the master's log, and a
 * client gone frees its place.
 */
export interface ClientEventsParts {
  /** Kills a worker (a quit). */
  terminate: (worker: Worker) => void;
  directory: ClientDirectory;
  relay: ChannelRelay;
  counts: PushCounts;
  reaper: CommandReaper;
  logger: Logger;
  /** Told of each client's start and end (presence, hooks); optional for tests. */
  lifecycle?: ClientLifecycle;
}

export class ClientEvents implements PoolEvents {
  private readonly terminate: (worker: Worker) => void;
  private readonly directory: ClientDirectory;
  private readonly relay: ChannelRelay;
  private readonly counts: PushCounts;
  private readonly reaper: CommandReaper;
  private readonly logger: Logger;
  private readonly lifecycle: ClientLifecycle | undefined;

  constructor(parts: ClientEventsParts) {
    ({
      terminate: this.terminate,
      directory: this.directory,
      relay: this.relay,
      counts: this.counts,
      reaper: this.reaper,
      logger: this.logger,
      lifecycle: this.lifecycle,
    } = parts);
  }

  onAssigned(worker: Worker): void {
    if (worker.client !== undefined) this.lifecycle?.connected(worker.client);
  }

  onClientMessage(worker: Worker, message: ClientMessage): void {
    const meta = worker.meta;
    switch (message.type) {
      case 'quit':
        this.logger.info(`Client #${meta.client} sent '${message.text}'`, meta);
        this.logger.info('Killing a child process', meta);
        this.terminate(worker);
        this.logger.info(`Process ${worker.pid} is killed!`, meta);
        return;
      case 'log':
        this.logger[message.level](message.message, meta);
        return;
      case 'report':
        this.counts.reported(worker, message.pushed);
        return;
      case 'command':
        this.reaper.started(worker, message.pid);
        return;
      case 'limit':
        this.logger.warn(
          `Client #${meta.client}: its command exceeded the ${message.limit} limit (${message.detail}); closing with 4005`,
          meta,
        );
        return;
      case 'closed':
        if (meta.client !== undefined) {
          this.lifecycle?.goodbye(meta.client, { code: message.code, side: message.side });
        }
        return;
      case 'first-push':
        // Only counted: MetricsEvents, which wraps this object, reads them.
        return;
      default:
        // A new message type must be handled here: it does not compile until it is.
        assertNever(message, 'client message');
    }
  }

  onClientGone(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const meta = worker.meta;
    if (signal === 'SIGKILL' || (code !== 0 && code !== null)) {
      this.logger.warn(
        `Worker of client #${meta.client} died (code ${code}, signal ${signal})`,
        meta,
      );
    }
    this.logger.info(`Client #${meta.client} disconnected`, meta);
    if (worker.client === undefined) return;
    const id = worker.client.id;
    // The end is told once its goodbye (if it sent one) has been read.
    const lifecycle = this.lifecycle;
    if (lifecycle !== undefined) {
      afterLastMessage(worker, () => lifecycle.reaped(id, { exitCode: code, exitSignal: signal }));
    }
    this.directory.remove(id);
    const feed = this.relay.feedOf(worker.client.id);
    if (feed !== undefined) this.relay.close(feed);
  }

  onExit(worker: Worker): void {
    this.reaper.workerGone(worker);
    this.counts.forget(worker);
  }
}
