import type { Broker } from '../broker/types';
import type { ChannelRelay } from '../channels/channel-relay';
import type { Logger } from '../observability/logger';
import type { Worker } from '../pool/worker';
import type { ClientDirectory } from './client-directory';

/** Whose connections: one client (a local number or "<instance>-<n>"), or every one of a user. */
export type ClientTarget = { client: string } | { user: string };

/**
 * What an instance tells the others (Broker.toOtherInstances), as JSON: close a client
 * or a user's clients, or push data to a user's clients.
 */
type InstanceOrder =
  { type: 'disconnect'; target: ClientTarget } | { type: 'user'; user: string; data: string };

/** What this instance did: its own clients reached, and whether the others were told. */
export interface ControlOutcome {
  /** This instance's clients closed (disconnect) or pushed to (user publish). */
  here: number;
  /** The other instances were told (there is a backplane and the target may be there). */
  others: boolean;
}

/**
 * POST /disconnect and POST /publish {"user"}: acts on this instance's own clients at
 * once, and tells every other instance through the broker to do the same with theirs.
 * A client id names one instance: only that one acts (the others ignore the order).
 * Closing is its worker's doing (close code 4002, then exit: its command ends with it);
 * the pool SIGKILLs a worker that does not exit in time.
 */
export class ClientControl {
  constructor(
    private readonly broker: Broker,
    private readonly relay: ChannelRelay,
    private readonly directory: ClientDirectory,
    private readonly disconnectWorker: (worker: Worker) => void,
    private readonly logger: Logger,
  ) {
    broker.on('instanceMessage', (message) => this.onOrder(message));
  }

  get instanceId(): string {
    return this.broker.instanceId;
  }

  private get backplane(): boolean {
    return this.broker.state !== 'off';
  }

  /**
   * Closes the target's connections here and, with a backplane, on every instance.
   * `others` is false for a client id of this instance (no one else has it) and
   * without a backplane. Rejects with BrokerDownError (before acting) when the
   * backplane is down and other instances would have to be told.
   */
  async disconnect(target: ClientTarget): Promise<ControlOutcome> {
    const local = 'client' in target ? this.relay.localId(target.client) : undefined;
    const tellOthers = this.backplane && local === undefined;
    if (tellOthers) await this.broker.toOtherInstances(order({ type: 'disconnect', target }));
    return { here: this.disconnectHere(target), others: tellOthers };
  }

  /** Pushes `data` to every connection of `user`, here and on every instance. */
  async publishToUser(user: string, data: string): Promise<ControlOutcome> {
    if (this.backplane) await this.broker.toOtherInstances(order({ type: 'user', user, data }));
    return { here: this.publishHere(user, data), others: this.backplane };
  }

  private targets(target: ClientTarget): Worker[] {
    if ('client' in target) {
      const local = this.relay.localId(target.client);
      const worker = local === undefined ? undefined : this.directory.worker(local);
      return worker === undefined ? [] : [worker];
    }
    return this.directory.workers().filter((worker) => worker.client?.user === target.user);
  }

  private disconnectHere(target: ClientTarget): number {
    const workers = this.targets(target);
    for (const worker of workers) {
      this.logger.info(
        `Client #${worker.client?.id} disconnected by POST /disconnect`,
        worker.meta,
      );
      this.disconnectWorker(worker);
    }
    return workers.length;
  }

  private publishHere(user: string, data: string): number {
    let count = 0;
    for (const worker of this.targets({ user })) {
      const id = worker.client?.id;
      const feed = id === undefined ? undefined : this.relay.feedOf(id);
      if (feed === undefined) continue;
      feed.direct(data);
      count++;
    }
    return count;
  }

  private onOrder(message: string): void {
    const parsed = parseOrder(message);
    if (parsed === undefined) {
      this.logger.debug('Ignored an instance message that is not an order');
      return;
    }
    switch (parsed.type) {
      case 'disconnect': {
        const count = this.disconnectHere(parsed.target);
        if (count > 0)
          this.logger.debug(`Another instance's POST /disconnect closed ${count} here`);
        return;
      }
      case 'user':
        this.publishHere(parsed.user, parsed.data);
        return;
    }
  }
}

function order(value: InstanceOrder): string {
  return JSON.stringify(value);
}

/** An order from another instance, checked (a different version may send other shapes). */
function parseOrder(text: string): InstanceOrder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const candidate = value as { type?: unknown; target?: unknown; user?: unknown; data?: unknown };
  if (candidate.type === 'user') {
    return typeof candidate.user === 'string' && typeof candidate.data === 'string'
      ? { type: 'user', user: candidate.user, data: candidate.data }
      : undefined;
  }
  if (candidate.type !== 'disconnect') return undefined;
  const target = candidate.target as { client?: unknown; user?: unknown } | null | undefined;
  if (typeof target?.client === 'string')
    return { type: 'disconnect', target: { client: target.client } };
  if (typeof target?.user === 'string')
    return { type: 'disconnect', target: { user: target.user } };
  return undefined;
}
