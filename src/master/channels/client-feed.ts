import { WAKE_RECORD } from '../../shared/publish-stream';
import type { Publication } from '../broker/types';
import type { Logger } from '../observability/logger';
import type { WorkerMeta } from '../pool/worker';
import { BROADCAST_CHANNEL } from '../../shared/channel-name';
import type { Gap } from './channel-sequence';
import { PublishedFrames, type FeedFormat } from './published-frames';
import type { RecoveringDelivery } from './recovering-delivery';

/**
 * Where a feed writes its client's frames: its worker's publish pipe, through the Worker
 * (src/master/pool/worker.ts), or, in a hot upgrade's new master before the worker is
 * adopted, through the pipe the old master passed over (src/master/upgrade/handed-pipe.ts).
 */
export interface FeedTarget {
  /** False when the frames were dropped (the worker gone or stuck). */
  publish(frames: Buffer): boolean;
  readonly meta: WorkerMeta;
}

/** Messages kept for a client whose hand-off is still under way. */
const MAX_PENDING = 1000;

/**
 * What reaches one client from the broker: its channel's publications, broadcasts and
 * messages sent to it alone, written to its worker's publish pipe as frames in the
 * client's format. Until the worker has the client (the hand-off), messages wait here,
 * so that a client subscribed before its 101 misses nothing; a returning client's
 * publications go through its recovery first.
 */
export class ClientFeed {
  private worker: FeedTarget | undefined;
  private pending: PublishedFrames[] = [];
  private dropped = 0;
  /** Set while (and after) a returning client is brought up to date from history. */
  recovering: RecoveringDelivery | undefined;
  /** The client's local id, once admitted. */
  clientId: number | undefined;

  constructor(
    readonly channel: string,
    /** Text frames, JSON frames (?format=json), or SSE events (JSON data). */
    readonly format: FeedFormat,
    private readonly logger: Logger,
    /** The client asked for join and leave frames (?presence=1, JSON clients only). */
    readonly presence = false,
  ) {}

  /** The client keeps a position (JSON frames, SSE events): it is told gaps and recovery. */
  get json(): boolean {
    return this.format !== 'text';
  }

  /**
   * A publication of this client's channel, or a broadcast (`frames`: its frames, built
   * once for every feed).
   */
  offer(publication: Publication, frames: PublishedFrames): void {
    if (this.recovering !== undefined && publication.channel !== BROADCAST_CHANNEL) {
      this.recovering.live(publication);
    } else {
      this.forward(frames);
    }
  }

  /**
   * Publications of its channel (or broadcasts) that will never come. A JSON client gets
   * a gap frame; a plain-text client nothing: its frames carry no offsets, so it has no
   * position to keep and no way to tell a notice from a message (the relay logs it).
   */
  gap(gap: Gap): void {
    if (this.recovering !== undefined && gap.channel !== BROADCAST_CHANNEL) {
      this.recovering.gap(gap);
    } else {
      this.tellGap(gap);
    }
  }

  /** A gap after this client's own filter (its recovery's, if any). */
  tellGap(gap: Gap): void {
    if (this.json) this.forward(PublishedFrames.gap(gap));
  }

  /** A message published to this client alone. */
  direct(data: string): void {
    this.forward(PublishedFrames.direct(data));
  }

  forward(frames: PublishedFrames): void {
    const worker = this.worker;
    if (worker === undefined) {
      if (this.pending.length >= MAX_PENDING) {
        this.pending.shift();
        this.dropped++;
      }
      this.pending.push(frames);
      return;
    }
    if (!worker.publish(frames.frame(this.format))) {
      this.logger.warn('Publish queue full, message dropped', worker.meta);
    }
  }

  /**
   * The worker has the client (its hand-off message is sent): a wake record first (see
   * src/shared/publish-stream.ts), then what waited. Attached again (a hot upgrade's
   * handed pipe, then the adopted worker on that same pipe), it writes to the latest.
   */
  attach(worker: FeedTarget, clientId: number): void {
    this.worker = worker;
    this.clientId = clientId;
    worker.publish(WAKE_RECORD);
    if (this.dropped > 0) {
      this.logger.warn(`${this.dropped} message(s) dropped during the hand-off`, {
        ...worker.meta,
        client: clientId,
      });
    }
    for (const frames of this.pending.splice(0)) this.forward(frames);
  }
}
