import type { RecoveryNotice, StreamPosition } from '../../shared/ipc';
import type { Broker, ClientMessage, Publication } from '../broker/types';
import { parseClientId } from '../broker/client-id';
import type { Logger } from '../observability/logger';
import type { Worker } from '../pool/worker';
import { BROADCAST_CHANNEL } from './channel-name';
import { ClientFeed } from './client-feed';
import { PublishedFrames } from './published-frames';
import { RecoveringDelivery } from './recovering-delivery';

export interface FeedOptions {
  /** A JSON client is told its position in the channel's stream. */
  json: boolean;
  /** A returning client: the last position it had (?since=&epoch=). */
  since?: StreamPosition;
}

export interface OpenedFeed {
  feed: ClientFeed;
  position?: StreamPosition;
  recovery?: RecoveryNotice;
}

/**
 * Joins the broker to this instance's clients: subscribes to the channels its clients
 * use (the broker counts them), and hands each publication to the feeds of that
 * channel (broadcasts to every feed), and a message for one client id to its feed.
 */
export class ChannelRelay {
  private readonly byChannel = new Map<string, Set<ClientFeed>>();
  private readonly byClient = new Map<number, ClientFeed>();

  constructor(
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {
    broker.on('publication', (publication) => this.onPublication(publication));
    broker.on('clientMessage', (message) => this.onClientMessage(message));
  }

  get instanceId(): string {
    return this.broker.instanceId;
  }

  /** Channels in use by this instance's clients. */
  get channelCount(): number {
    return this.byChannel.size;
  }

  /** Clients of this instance a publication to `channel` reaches. */
  audience(channel: string): number {
    if (channel === BROADCAST_CHANNEL) return this.byClient.size;
    let count = 0;
    for (const feed of this.byChannel.get(channel) ?? []) if (feed.clientId !== undefined) count++;
    return count;
  }

  /** The local id a global (or plain local) client id names on this instance. */
  localId(id: string | number): number | undefined {
    if (typeof id === 'number') return id;
    if (/^[1-9]\d*$/.test(id)) return Number(id);
    const parsed = parseClientId(id);
    return parsed?.instance === this.broker.instanceId ? parsed.client : undefined;
  }

  feedOf(clientId: number): ClientFeed | undefined {
    return this.byClient.get(clientId);
  }

  /**
   * A feed for a client about to be handed off: subscribed before anything is read, so
   * that no publication falls between; then, for a JSON client, where its channel
   * stands, and for a returning one, its history.
   */
  async open(channel: string, options: FeedOptions): Promise<OpenedFeed> {
    const feed = new ClientFeed(channel, options.json, this.logger);
    let members = this.byChannel.get(channel);
    if (members === undefined) this.byChannel.set(channel, (members = new Set()));
    members.add(feed);
    try {
      await this.broker.subscribe(channel);
    } catch (error) {
      // Closed (stopping) or a bug: the client still gets its worker and its pushes.
      this.logger.warn(`Subscribe to ${channel} failed: ${(error as Error).message}`);
    }
    if (options.since !== undefined) return this.recover(feed, options.since);
    if (!options.json) return { feed };
    try {
      // An offset past any (and an epoch no stream has) reads no entry: only where it stands.
      const now = await this.broker.history(channel, Number.MAX_SAFE_INTEGER, '');
      return { feed, position: { epoch: now.epoch, offset: now.offset } };
    } catch (error) {
      this.logger.debug(`No position for ${channel}: ${(error as Error).message}`);
      return { feed };
    }
  }

  private async recover(feed: ClientFeed, since: StreamPosition): Promise<OpenedFeed> {
    let count = 0;
    const delivery = new RecoveringDelivery(feed.channel, since, (publication) => {
      count++;
      feed.forward(PublishedFrames.of(publication));
    });
    feed.recovering = delivery;
    try {
      const result = await this.broker.history(feed.channel, since.offset, since.epoch);
      const recovered = delivery.history(result);
      const reason = result.recovered ? undefined : result.reason;
      return {
        feed,
        position: delivery.position,
        recovery: { recovered, count: recovered ? count : 0, reason },
      };
    } catch (error) {
      delivery.abandon();
      this.logger.warn(`Recovery of ${feed.channel} failed: ${(error as Error).message}`);
      return { feed, recovery: { recovered: false, count: 0, reason: 'history unavailable' } };
    }
  }

  /**
   * The client is admitted and its hand-off message is on its way: its feed is found by
   * id, and what waited flows to its worker (after the hand-off, as IPC keeps order).
   */
  admitted(feed: ClientFeed, worker: Worker, clientId: number): void {
    this.byClient.set(clientId, feed);
    feed.attach(worker, clientId);
  }

  /** The client is gone (or never came): its channel has one user fewer. */
  close(feed: ClientFeed): void {
    if (feed.clientId !== undefined) this.byClient.delete(feed.clientId);
    const members = this.byChannel.get(feed.channel);
    if (members?.delete(feed) !== true) return;
    if (members.size === 0) this.byChannel.delete(feed.channel);
    this.broker.unsubscribe(feed.channel).catch((error: Error) => {
      this.logger.debug(`unsubscribe ${feed.channel}: ${error.message}`);
    });
  }

  private onPublication(publication: Publication): void {
    const frames = PublishedFrames.of(publication); // framed once for every feed
    if (publication.channel === BROADCAST_CHANNEL) {
      for (const members of this.byChannel.values()) {
        for (const feed of members) feed.offer(publication, frames);
      }
      return;
    }
    for (const feed of this.byChannel.get(publication.channel) ?? []) {
      feed.offer(publication, frames);
    }
  }

  private onClientMessage({ clientId, data }: ClientMessage): void {
    const local = this.localId(clientId);
    const feed = local === undefined ? undefined : this.byClient.get(local);
    if (feed === undefined) {
      this.logger.debug(`Message for client ${clientId}, who is not here`);
      return;
    }
    feed.direct(data);
  }
}
