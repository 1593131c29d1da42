import type { EventEmitter } from 'node:events';

/**
 * The channel broker: how a master publishes to channels and to single clients, and
 * learns of publications for the channels its own clients use. One small interface,
 * two implementations (in memory for one instance; Redis for many), one contract test.
 *
 * Channels are names `normaliseChannel` returns (`/`, `/news`, ...) or BROADCAST_CHANNEL
 * (`*`), the channel of broadcasts to every client, which a broker always delivers
 * without a subscribe.
 */

/** 'off': no backplane (in-memory broker); 'up'/'down': the Redis backplane's link. */
export type BrokerState = 'off' | 'up' | 'down';

/** A publication to a channel, as delivered: `offset` counts from 1 in each `epoch`. */
export interface Publication {
  channel: string;
  offset: number;
  epoch: string;
  data: string;
}

/** A message for one client, delivered to the instance that owns the client's id. */
export interface DirectMessage {
  clientId: string;
  data: string;
}

export interface PublishResult {
  offset: number;
  epoch: string;
  /**
   * True when an idempotency key had been used within the window: nothing was
   * published now, and offset and epoch are those of the first publication.
   */
  replayed?: true;
}

/** Options of one publication. */
export interface PublishOptions {
  /**
   * Makes a retry safe: a publication to the same channel with the same key within the
   * broker's idempotency window is not made again; the first one's offset and epoch are
   * returned (`replayed`). Checked and recorded atomically with the publication, so
   * two concurrent publications with one key publish once. Across instances with Redis.
   */
  idempotencyKey?: string;
}

/**
 * Why a client cannot be brought up to date from history:
 * - 'history off': this broker keeps no history;
 * - 'epoch changed': the stream the client knew is gone (restart, FLUSHALL, expiry);
 * - 'offset too old': publications after the client's offset were dropped (size, TTL,
 *   memory bounds);
 * - 'offset ahead': the client claims an offset this epoch never reached.
 */
export type NotRecoveredReason =
  'history off' | 'epoch changed' | 'offset too old' | 'offset ahead';

/**
 * The answer to `history`: either every publication after `since` (in offset order), or
 * the reason there is none. Both say the channel's current `epoch` and last `offset`,
 * which a client keeps to come back with. `recovered` is a protocol fact (sent to the
 * client in its "recovery" frame), not a failure, so this is not a Result.
 */
export type HistoryResult =
  | { recovered: true; epoch: string; offset: number; publications: Publication[] }
  | {
      recovered: false;
      reason: NotRecoveredReason;
      epoch: string;
      offset: number;
      /** With 'offset too old': the oldest offset still kept (`offset + 1` when none is). */
      firstKept?: number;
    };

export interface BrokerEvents {
  /** A publication to a channel this master subscribed to, or a broadcast. */
  publication: [publication: Publication];
  /** A message for a client id of this instance. */
  clientMessage: [message: DirectMessage];
  /** A message another instance sent to every instance (toOtherInstances). */
  instanceMessage: [message: string];
  /** The backplane's state changed. */
  state: [state: BrokerState, previous: BrokerState];
  /** A notice another instance sent to a channel this master subscribed to (notify). */
  notice: [channel: string, data: string];
}

/** What a broker logs through (the master's winston logger fits). */
export interface BrokerLogger {
  error(message: string): unknown;
  warn(message: string): unknown;
  info(message: string): unknown;
  debug(message: string): unknown;
}

export interface Broker extends Pick<EventEmitter<BrokerEvents>, 'on' | 'once' | 'off'> {
  /** This instance's id: the prefix of its client ids (`<instanceId>-<n>`). */
  readonly instanceId: string;
  readonly state: BrokerState;

  /**
   * Publishes to a channel (or BROADCAST_CHANNEL). Resolves with the publication's
   * offset and epoch once it is stored and sent. Rejects with BrokerDownError when the
   * backplane is down (never queued for later), BrokerClosedError after close(), and
   * InvalidChannelError for a name that is not a normalised channel. A round trip cut
   * after the publication was sent rejects with BrokerUncertainError (it may or may not
   * have been made); a key reused for other data with IdempotencyKeyReusedError.
   */
  publish(channel: string, data: string, options?: PublishOptions): Promise<PublishResult>;

  /**
   * Sends a message to one client, by its id `<instanceId>-<n>`; the instance that owns
   * the id emits 'clientMessage'. Resolves true when an instance with that id received
   * it (for a local id: always), false when none did. Same rejections as publish.
   */
  publishToClient(clientId: string, data: string): Promise<boolean>;

  /**
   * Sends an opaque message to every other instance on the backplane: each emits
   * 'instanceMessage' once; this one does not (the sender acts on its own clients
   * itself). Without a backplane there is no other instance: it resolves and nothing
   * is emitted. Rejects with BrokerDownError when the backplane is down,
   * BrokerClosedError after close(). (POST /disconnect, POST /publish {"user"}.)
   */
  toOtherInstances(message: string): Promise<void>;

  /**
   * Sends a transient notice about a channel (join/leave frames): no offset, no history,
   * at most once. Every other instance subscribed to the channel emits 'notice' once;
   * this one does not (the sender tells its own clients itself). Without a backplane it
   * resolves and nothing is emitted. Rejects with BrokerDownError when the backplane is
   * down, InvalidChannelError for a bad name, BrokerClosedError after close().
   */
  notify(channel: string, data: string): Promise<void>;

  /**
   * Counts one more user of a channel (the broker ref-counts: call once per client).
   * The first one subscribes; resolves once publications to the channel will be
   * delivered (so history read after this leaves no gap). When the backplane is down
   * it resolves at once and the subscription is made on recovery.
   */
  subscribe(channel: string): Promise<void>;

  /** One user fewer (call once per subscribe); the last one unsubscribes. */
  unsubscribe(channel: string): Promise<void>;

  /**
   * The publications of a channel after `sinceOffset` in `epoch`, or why not.
   * Rejects with BrokerDownError when the backplane is down.
   */
  history(channel: string, sinceOffset: number, epoch: string): Promise<HistoryResult>;

  /** Stops: disconnects, clears timers. Publish afterwards rejects. Idempotent. */
  close(): Promise<void>;
}

/** The backplane is down: the publication was not made (HTTP: 503). */
export class BrokerDownError extends Error {
  readonly code = 'BROKER_DOWN';
  constructor(detail: string) {
    super(`channel backplane is down: ${detail}`);
    this.name = 'BrokerDownError';
  }
}

/**
 * The link to the backplane broke after the publication was sent and before its answer
 * came (connection reset, timeout): it may or may not have been made (HTTP: 504). A
 * retry with the same idempotency key is safe.
 */
export class BrokerUncertainError extends Error {
  readonly code = 'BROKER_UNCERTAIN';
  constructor(detail: string) {
    super(detail);
    this.name = 'BrokerUncertainError';
  }
}

/** The idempotency key was used within the window for a different publication (HTTP: 422). */
export class IdempotencyKeyReusedError extends Error {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor() {
    super('this Idempotency-Key was used for a different publication within the window');
    this.name = 'IdempotencyKeyReusedError';
  }
}

export class BrokerClosedError extends Error {
  readonly code = 'BROKER_CLOSED';
  constructor() {
    super('broker is closed');
    this.name = 'BrokerClosedError';
  }
}

export class InvalidChannelError extends Error {
  readonly code = 'INVALID_CHANNEL';
  constructor(channel: string) {
    super(`not a channel name: ${JSON.stringify(channel.slice(0, 200))}`);
    this.name = 'InvalidChannelError';
  }
}

export class InvalidClientIdError extends Error {
  readonly code = 'INVALID_CLIENT_ID';
  constructor(clientId: string) {
    super(`not a client id (<instanceId>-<n>): ${JSON.stringify(clientId.slice(0, 200))}`);
    this.name = 'InvalidClientIdError';
  }
}
