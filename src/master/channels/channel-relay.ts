import type { RecoveryNotice, StreamPosition } from '../../shared/ipc';
import type { Broker, DirectMessage, HistoryResult, Publication } from '../broker/types';
import { parseClientId } from '../broker/client-id';
import type { Logger } from '../observability/logger';
import { BROADCAST_CHANNEL } from '../../shared/channel-name';
import { ChannelSequence, type Gap, type SequenceIo, type SequenceSink } from './channel-sequence';
import { ClientFeed, type FeedTarget } from './client-feed';
import { PublishedFrames, type FeedFormat } from './published-frames';
import { RecoveringDelivery } from './recovering-delivery';

export interface FeedOptions {
  /** A JSON client (and an SSE one) is told its position in the channel's stream. */
  format: FeedFormat;
  /** A returning client: the last position it had (?since=&epoch=). */
  since?: StreamPosition;
  /** It wants its channel's join and leave frames (?presence=1; JSON clients). */
  presence?: boolean;
}

export interface OpenedFeed {
  feed: ClientFeed;
  position?: StreamPosition;
  recovery?: RecoveryNotice;
  /**
   * A returning client whose history could not be read: not to be admitted (HTTP 503
   * with Retry-After), so that it comes back and recovers rather than being told
   * "not recovered" and losing what it missed. The reason says why.
   */
  unavailable?: string;
}

/** Seconds a returning client is told to wait while the history cannot be read. */
export const RECOVERY_RETRY_AFTER_S = 2;

/**
 * Joins the broker to this instance's clients: subscribes to the channels its clients
 * use (the broker counts them), and hands each publication to the feeds of that
 * channel (broadcasts to every feed), and a message for one client id to its feed.
 * Each channel's publications pass its ChannelSequence first: in order, once each,
 * holes filled from history (one read per channel for all its clients), after every
 * backplane outage too; what cannot be filled is reported as a gap.
 */
export class ChannelRelay {
  private readonly byChannel = new Map<string, Set<ClientFeed>>();
  private readonly byClient = new Map<number, ClientFeed>();
  private readonly sequences = new Map<string, ChannelSequence>();
  private readonly io: SequenceIo;
  /** A hot upgrade has begun: the new master delivers from here on (see freeze()). */
  private frozen = false;

  constructor(
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {
    broker.on('publication', (publication) => this.onPublication(publication));
    broker.on('clientMessage', (message) => this.onClientMessage(message));
    broker.on('state', (state, previous) => {
      // Resubscribed after an outage: what was published meanwhile is read back.
      if (state === 'up' && previous === 'down') {
        for (const sequence of this.sequences.values()) sequence.resume();
      }
    });
    this.io = {
      read: (channel, since) => broker.history(channel, since.offset, since.epoch),
      isDown: () => broker.state === 'down',
      later: (callback, ms) => setTimeout(callback, ms).unref(),
      now: Date.now,
      warn: (message) => logger.warn(message),
      info: (message) => logger.info(message),
    };
  }

  /** The sequence of a channel (its relayed position), for /status and tests. */
  sequenceOf(channel: string): ChannelSequence | undefined {
    return this.sequences.get(channel);
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
    const feed = new ClientFeed(
      channel,
      options.format,
      this.logger,
      options.format === 'json' && options.presence === true,
    );
    // A client that will be told a position (a JSON one, a returning one) holds what
    // comes live from now on until the history read orders it: set before the feed can
    // receive anything, since the channel may already be subscribed (another client's
    // feed) and a publication can arrive while this SUBSCRIBE is under way.
    let count = 0;
    const delivery =
      options.since === undefined && !feed.json
        ? undefined
        : new RecoveringDelivery(
            channel,
            options.since ?? { epoch: '', offset: 0 },
            (publication) => {
              count++;
              feed.forward(PublishedFrames.of(publication));
            },
            (gap) => feed.tellGap(gap),
          );
    feed.recovering = delivery;
    let members = this.byChannel.get(channel);
    if (members === undefined) this.byChannel.set(channel, (members = new Set()));
    members.add(feed);
    const sequence = this.sequence(channel);
    try {
      await this.broker.subscribe(channel);
    } catch (error) {
      // Closed (stopping) or a bug: the client still gets its worker and its pushes.
      this.logger.warn(`Subscribe to ${channel} failed: ${(error as Error).message}`);
    }
    if (options.since !== undefined && delivery !== undefined) {
      return this.recover(feed, options.since, sequence, delivery, () => count);
    }
    if (delivery === undefined) {
      // The channel's start, so that an outage before its first publication is filled.
      if (sequence.position === undefined) void this.position(channel, sequence);
      return { feed };
    }
    // Publications that arrive before the answer are held, and those it counts dropped:
    // the client is told where it starts and gets what follows, once.
    const position = await this.position(channel, sequence);
    if (position === undefined) {
      delivery.abandon();
      return { feed };
    }
    delivery.history({ recovered: false, reason: 'epoch changed', ...position });
    return { feed, position };
  }

  /** Where a channel stands (read after its subscription), or undefined when unreadable. */
  private async position(
    channel: string,
    sequence: ChannelSequence,
  ): Promise<StreamPosition | undefined> {
    try {
      // An offset past any (and an epoch no stream has) reads no entry: only where it stands.
      const now = await this.broker.history(channel, Number.MAX_SAFE_INTEGER, '');
      const position = { epoch: now.epoch, offset: now.offset };
      sequence.baseline(position);
      return position;
    } catch (error) {
      this.logger.debug(`No position for ${channel}: ${(error as Error).message}`);
      return undefined;
    }
  }

  private sequence(channel: string): ChannelSequence {
    let sequence = this.sequences.get(channel);
    if (sequence === undefined) {
      const sink: SequenceSink = {
        publication: (publication) => this.deliver(publication),
        gap: (gap) => this.tellGap(gap),
      };
      sequence = new ChannelSequence(channel, sink, this.io);
      this.sequences.set(channel, sequence);
    }
    return sequence;
  }

  private async recover(
    feed: ClientFeed,
    since: StreamPosition,
    sequence: ChannelSequence,
    delivery: RecoveringDelivery,
    delivered: () => number,
  ): Promise<OpenedFeed> {
    let result: HistoryResult;
    try {
      result = await this.broker.history(feed.channel, since.offset, since.epoch);
    } catch (error) {
      // Not admitted: "not recovered" would lose what it missed for good.
      delivery.abandon();
      return { feed, unavailable: `history unavailable (${(error as Error).message})` };
    }
    sequence.baseline({ epoch: result.epoch, offset: result.offset });
    const recovered = delivery.history(result);
    const reason = result.recovered ? undefined : result.reason;
    return {
      feed,
      position: delivery.position,
      recovery: { recovered, count: recovered ? delivered() : 0, reason },
    };
  }

  /**
   * The client is admitted and its hand-off message is on its way: its feed is found by
   * id, and what waited flows to its worker (after the hand-off, as IPC keeps order).
   */
  admitted(feed: ClientFeed, worker: FeedTarget, clientId: number): void {
    this.byClient.set(clientId, feed);
    feed.attach(worker, clientId);
  }

  /**
   * A hot upgrade: stops delivering to this master's workers and returns where each
   * channel stands (the last offset relayed). The new master delivers from there on,
   * filling from history what arrives meanwhile: each publication reaches a worker
   * once, from one master or the other.
   */
  freeze(): [string, StreamPosition][] {
    this.frozen = true;
    const positions: [string, StreamPosition][] = [];
    for (const [channel, sequence] of this.sequences) {
      const position = sequence.position;
      if (position !== undefined) positions.push([channel, position]);
    }
    return positions;
  }

  /** The hot upgrade failed: this master delivers again. */
  unfreeze(): void {
    this.frozen = false;
  }

  /**
   * A feed for a worker adopted from the old master: its channel's sequence starts where
   * the old master left it (`position`), so that nothing is delivered twice or skipped.
   */
  adopt(
    channel: string,
    {
      format,
      presence = false,
      position,
    }: { format: FeedFormat; presence?: boolean; position?: StreamPosition },
  ): ClientFeed {
    const feed = new ClientFeed(channel, format, this.logger, presence);
    let members = this.byChannel.get(channel);
    if (members === undefined) this.byChannel.set(channel, (members = new Set()));
    members.add(feed);
    const sequence = this.sequence(channel);
    if (position !== undefined) sequence.baseline(position);
    this.broker.subscribe(channel).then(
      () => {
        if (sequence.position === undefined) void this.position(channel, sequence);
      },
      (error: Error) => this.logger.warn(`Subscribe to ${channel} failed: ${error.message}`),
    );
    return feed;
  }

  /** The client is gone (or never came): its channel has one user fewer. */
  close(feed: ClientFeed): void {
    if (feed.clientId !== undefined) this.byClient.delete(feed.clientId);
    const members = this.byChannel.get(feed.channel);
    if (members?.delete(feed) !== true) return;
    if (members.size === 0) {
      this.byChannel.delete(feed.channel);
      this.sequences.get(feed.channel)?.close();
      this.sequences.delete(feed.channel);
    }
    this.broker.unsubscribe(feed.channel).catch((error: Error) => {
      this.logger.debug(`unsubscribe ${feed.channel}: ${error.message}`);
    });
  }

  /**
   * A join or leave frame (`json`: its text) to the clients of `channel` here that asked
   * for them; returns how many. Not sequenced: it has no offset.
   */
  notice(channel: string, json: string): number {
    if (this.frozen) return 0;
    let frames: PublishedFrames | undefined;
    let count = 0;
    for (const feed of this.byChannel.get(channel) ?? []) {
      if (!feed.presence) continue;
      feed.forward((frames ??= PublishedFrames.notice(json)));
      count++;
    }
    return count;
  }

  private onPublication(publication: Publication): void {
    if (this.frozen) return;
    const { channel } = publication;
    // A channel with no client here any more (a late delivery): nothing to keep.
    if (channel !== BROADCAST_CHANNEL && !this.byChannel.has(channel)) return;
    this.sequence(channel).live(publication);
  }

  /** A gap the sequence could not fill: JSON clients are told, and it is logged. */
  private tellGap(gap: Gap): void {
    if (this.frozen) return; // the new master's to tell (see deliver)
    let json = 0;
    let text = 0;
    const feeds =
      gap.channel === BROADCAST_CHANNEL
        ? [...this.byChannel.values()].flatMap((members) => [...members])
        : [...(this.byChannel.get(gap.channel) ?? [])];
    for (const feed of feeds) {
      if (feed.json) json++;
      else text++;
      feed.gap(gap);
    }
    this.logger.warn(
      `Publications ${gap.from}-${gap.to} of ${gap.channel} (epoch ${gap.epoch}) will not ` +
        `reach this instance's clients: ${gap.reason}; ${json} JSON client(s) told with a ` +
        `gap frame, ${text} plain-text client(s) cannot be told`,
    );
  }

  /** The sequence's next publication, to every feed of its channel. */
  private deliver(publication: Publication): void {
    // A history read that ends after a hot upgrade's freeze: the new master delivers from
    // the position handed over, and may be writing to the same pipes already.
    if (this.frozen) return;
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

  private onClientMessage({ clientId, data }: DirectMessage): void {
    if (this.frozen) return;
    const local = this.localId(clientId);
    const feed = local === undefined ? undefined : this.byClient.get(local);
    if (feed === undefined) {
      this.logger.debug(`Message for client ${clientId}, who is not here`);
      return;
    }
    feed.direct(data);
  }
}
