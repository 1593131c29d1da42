import { EventEmitter } from 'node:events';
import { BROADCAST_CHANNEL, isBrokerChannel } from '../../shared/channel-name';
import { instanceOfClientId, isInstanceId } from './client-id';
import { checkSince } from './history-answer';
import {
  checkIdempotencyKey,
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  IdempotencyMemo,
  type RememberedKey,
} from './idempotency';
import {
  DEFAULT_MEMORY_LIMITS,
  MemoryHistory,
  type ChannelHistoryState,
  type MemoryHistoryLimits,
  type MemoryHistoryStats,
} from './memory-history';
import { SubscriptionCounts } from './subscription-counts';
import {
  BrokerClosedError,
  InvalidChannelError,
  InvalidClientIdError,
  type Broker,
  type BrokerEvents,
  type HistoryResult,
  type PublishOptions,
  type PublishResult,
} from './types';

export interface MemoryBrokerOptions {
  instanceId: string;
  history?: Partial<MemoryHistoryLimits>;
  /** How long an idempotency key is remembered (ms; 0: keys are not kept). */
  idempotencyWindowMs?: number;
  /** Injected for tests of TTLs. */
  now?: () => number;
}

/**
 * The broker of a single instance (no --redis): channels, offsets and history live in
 * this process; a restart starts new epochs. State is always 'off' (no backplane).
 * Deliveries are emitted asynchronously (a microtask after publish), as over Redis.
 */
export class MemoryBroker extends EventEmitter<BrokerEvents> implements Broker {
  readonly state = 'off' as const;
  readonly instanceId: string;
  private readonly counts = new SubscriptionCounts();
  private readonly store: MemoryHistory;
  private readonly keys: IdempotencyMemo;
  private readonly sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: MemoryBrokerOptions) {
    super();
    if (!isInstanceId(options.instanceId)) {
      throw new RangeError(`bad instance id ${JSON.stringify(options.instanceId)}`);
    }
    this.instanceId = options.instanceId;
    const limits = { ...DEFAULT_MEMORY_LIMITS, ...options.history };
    checkLimits(limits);
    this.store = new MemoryHistory(limits, (channel) => this.counts.has(channel), options.now);
    this.keys = new IdempotencyMemo(
      options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS,
      undefined,
      options.now,
    );
    if (limits.size > 0 && limits.ttlMs > 0) {
      // Frees expired history of idle channels; the bounds hold without it.
      this.sweeper = setInterval(() => this.store.sweep(), Math.max(1000, limits.ttlMs / 2));
      this.sweeper.unref();
    }
  }

  publish(channel: string, data: string, options: PublishOptions = {}): Promise<PublishResult> {
    const key = options.idempotencyKey;
    try {
      this.check(channel);
      if (key !== undefined) {
        const problem = checkIdempotencyKey(key);
        if (problem !== undefined) throw new RangeError(problem);
        // Checked and remembered in one synchronous step: a concurrent twin cannot slip in.
        const first = this.keys.replay(channel, key, data);
        if (first !== undefined) return Promise.resolve(first);
      }
    } catch (error) {
      return Promise.reject(asError(error));
    }
    const result = this.store.append(channel, data);
    if (key !== undefined) this.keys.remember(channel, key, data, result);
    if (channel === BROADCAST_CHANNEL || this.counts.has(channel)) {
      const publication = { channel, ...result, data };
      queueMicrotask(() => {
        if (!this.closed) this.emit('publication', publication);
      });
    }
    return Promise.resolve(result);
  }

  publishToClient(clientId: string, data: string): Promise<boolean> {
    if (this.closed) return Promise.reject(new BrokerClosedError());
    const instance = instanceOfClientId(clientId);
    if (instance === undefined) return Promise.reject(new InvalidClientIdError(clientId));
    if (instance !== this.instanceId) return Promise.resolve(false);
    queueMicrotask(() => {
      if (!this.closed) this.emit('clientMessage', { clientId, data });
    });
    return Promise.resolve(true);
  }

  /** One instance: nobody else to tell. */
  toOtherInstances(): Promise<void> {
    if (this.closed) return Promise.reject(new BrokerClosedError());
    return Promise.resolve();
  }

  /** One instance: nobody else to tell. */
  notify(channel: string): Promise<void> {
    try {
      this.check(channel);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return Promise.resolve();
  }

  subscribe(channel: string): Promise<void> {
    try {
      this.check(channel);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    this.counts.add(channel);
    return Promise.resolve();
  }

  unsubscribe(channel: string): Promise<void> {
    if (this.counts.remove(channel)) this.store.release(channel);
    return Promise.resolve();
  }

  history(channel: string, sinceOffset: number, epoch: string): Promise<HistoryResult> {
    try {
      this.check(channel);
      checkSince(sinceOffset);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return Promise.resolve(this.store.read(channel, sinceOffset, epoch));
  }

  /** Every channel's epoch, offset and history, for a hot upgrade's new master. */
  snapshot(): ChannelHistoryState[] {
    return this.store.snapshot();
  }

  /** Takes on the old master's channels (a hot upgrade), before anything is published. */
  restore(channels: readonly ChannelHistoryState[]): void {
    this.store.restore(channels);
  }

  /** The idempotency keys remembered, for a hot upgrade's new master. */
  snapshotKeys(): RememberedKey[] {
    return this.keys.snapshot();
  }

  /** Takes on the old master's idempotency keys (a hot upgrade): its retries stay replays. */
  restoreKeys(keys: readonly RememberedKey[]): void {
    this.keys.restore(keys);
  }

  /** Channels, history kept and its bytes (for /status and /metrics). */
  stats(): MemoryHistoryStats & { subscribedChannels: number } {
    return { ...this.store.stats(), subscribedChannels: this.counts.size };
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    return Promise.resolve();
  }

  private check(channel: string): void {
    if (this.closed) throw new BrokerClosedError();
    if (!isBrokerChannel(channel)) throw new InvalidChannelError(channel);
  }
}

function checkLimits(limits: MemoryHistoryLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`history limit ${name} must be a whole number >= 0, not ${value}`);
    }
  }
  if (limits.maxBytes < 1 || limits.maxChannels < 1) {
    throw new RangeError('history limits maxBytes and maxChannels must be at least 1');
  }
}

/** What check() and friends throw is always an Error; this tells the compiler so. */
function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
