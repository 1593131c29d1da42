import { EventEmitter } from 'node:events';
import Redis, { type RedisOptions } from 'ioredis';
import { BROADCAST_CHANNEL, isBrokerChannel } from '../../shared/channel-name';
import {
  Backoff,
  DEFAULT_BACKOFF,
  equalJitterDelay,
  type BackoffOptions,
} from '../../shared/exponential-backoff';
import { instanceOfClientId, isInstanceId } from './client-id';
import { randomEpoch } from './epoch';
import { answerHistory, checkSince } from './history-answer';
import { checkIdempotencyKey, dataFingerprint, DEFAULT_IDEMPOTENCY_WINDOW_MS } from './idempotency';
import { redisFault } from './redis-errors';
import {
  channelKeys,
  clientTopic,
  decodeInstanceMessage,
  encodeInstanceMessage,
  instancesTopic,
  decodeClientMessage,
  decodePublication,
  decodeNotice,
  encodeNotice,
  encodeClientMessage,
  HISTORY_SCRIPT,
  idempotencyKeyName,
  publicationTopic,
  PUBLISH_SCRIPT,
} from './redis-scripts';
import { parseRedisUrl, redactRedisUrl, type RedisTarget } from './redis-url';
import { SubscriptionCounts } from './subscription-counts';
import {
  BrokerClosedError,
  BrokerDownError,
  BrokerUncertainError,
  IdempotencyKeyReusedError,
  InvalidChannelError,
  InvalidClientIdError,
  type Broker,
  type BrokerEvents,
  type BrokerLogger,
  type BrokerState,
  type HistoryResult,
  type PublishOptions,
  type PublishResult,
} from './types';

export interface RedisBrokerOptions {
  /**
   * redis:// or rediss:// URL, or redis+sentinel:// (see redis-url.ts); a password in it
   * is used, never logged.
   */
  url: string;
  instanceId: string;
  logger: BrokerLogger;
  /** Publications kept per channel (0: history off) and their age limit in ms (0: none). */
  history?: { size?: number; ttlMs?: number };
  /** How long an idempotency key is remembered (ms; 0: keys are not kept). */
  idempotencyWindowMs?: number;
  /** How long an idle channel's offset and epoch live in Redis (ms; 0: for ever). */
  channelTtlMs?: number;
  /** Prefix of every key and pub/sub topic, so instances of other apps can share a Redis. */
  keyPrefix?: string;
  backoff?: BackoffOptions;
  connectTimeoutMs?: number;
  /** A command with no reply in this time fails (a hung Redis must not hang a client). */
  commandTimeoutMs?: number;
}

export const REDIS_DEFAULTS = {
  historySize: 100,
  historyTtlMs: 5 * 60_000,
  channelTtlMs: 24 * 3600_000,
  keyPrefix: 'pushws:',
  connectTimeoutMs: 3000,
  commandTimeoutMs: 5000,
};

interface ScriptCommands {
  pushwsPublish(...args: (string | number)[]): Promise<[number, string, string?]>;
  pushwsHistory(...args: (string | number)[]): Promise<[string, string, string, string[]]>;
}

/**
 * The broker of many instances: Redis pub/sub delivers, Redis Streams keep history
 * that every instance shares (see redis-scripts.ts for keys and scripts).
 *
 * Two connections (a subscriber connection can run nothing else). Client: ioredis,
 * which reconnects by itself with our back-off; we disable its offline queue and its
 * resending, so a publication is never queued while Redis is away: it is refused
 * (BrokerDownError, HTTP 503). The broker resubscribes itself on every reconnect
 * (this instance's client topic, the broadcast channel, and each counted channel)
 * and only then reports 'up'. Starting with Redis unreachable is fine: state 'down',
 * retries with back-off, logged.
 */
export class RedisBroker extends EventEmitter<BrokerEvents> implements Broker {
  readonly instanceId: string;
  private current: BrokerState = 'down';
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly scripts: ScriptCommands;
  private readonly counts = new SubscriptionCounts();
  /** SUBSCRIBEs in flight, by channel, for the callers that come while one is. */
  private readonly subscribing = new Map<string, Promise<void>>();
  private readonly where: string;
  /** The URL's password, scrubbed from any error text before it is logged or thrown. */
  private readonly secret: string;
  private readonly prefix: string;
  private readonly ownTopic: string;
  private readonly historySize: number;
  private readonly historyTtlMs: number;
  private readonly channelTtlMs: number;
  private readonly idempotencyWindowMs: number;
  private readonly logger: BrokerLogger;
  private commandsReady = false;
  private subscriberReady = false;
  private lastError: string | undefined;
  private downSince = Date.now();
  private downLogged = false;
  private closed = false;
  /** SUBSCRIBEs refused in a row on a link that stayed up, and the timer of the next. */
  private readonly subscribeRetry: Backoff;
  private resubscribeTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisBrokerOptions) {
    super();
    const parsed = parseRedisUrl(options.url);
    if (!parsed.ok) throw new RangeError(`bad Redis URL: ${parsed.error}`);
    const target = parsed.value;
    if (!isInstanceId(options.instanceId)) {
      throw new RangeError(`bad instance id ${JSON.stringify(options.instanceId)}`);
    }
    this.instanceId = options.instanceId;
    this.logger = options.logger;
    this.where = redactRedisUrl(options.url);
    this.secret = target.password;
    this.prefix = options.keyPrefix ?? REDIS_DEFAULTS.keyPrefix;
    this.ownTopic = clientTopic(this.prefix, this.instanceId);
    this.historySize = options.history?.size ?? REDIS_DEFAULTS.historySize;
    this.historyTtlMs = options.history?.ttlMs ?? REDIS_DEFAULTS.historyTtlMs;
    this.idempotencyWindowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
    const channelTtl = options.channelTtlMs ?? REDIS_DEFAULTS.channelTtlMs;
    // The counter must outlive the history it numbers.
    this.channelTtlMs = channelTtl === 0 ? 0 : Math.max(channelTtl, this.historyTtlMs);
    for (const [name, value] of Object.entries({
      historySize: this.historySize,
      historyTtlMs: this.historyTtlMs,
      channelTtlMs: channelTtl,
      idempotencyWindowMs: this.idempotencyWindowMs,
    })) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`${name} must be a whole number >= 0, not ${value}`);
      }
    }

    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.subscribeRetry = Backoff.jittered(backoff);
    const common: RedisOptions = {
      // Never queue or replay a command while the link is down: refuse it instead.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // We resubscribe ourselves, to know when it is done.
      autoResubscribe: false,
      retryStrategy: (attempt) => equalJitterDelay(attempt, backoff),
      connectTimeout: options.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
      // Closing while Redis is down leaves ioredis a timer on the already closed socket
      // (2 s by default); a short one lets whatever owns the broker end promptly.
      disconnectTimeout: 300,
    };
    this.commands = connect(
      target,
      backoff,
      { ...common, connectionName: `push-websocket:${this.instanceId}:commands` },
      (delay) => this.logEnded('commands', delay),
    );
    this.subscriber = connect(
      target,
      backoff,
      { ...common, connectionName: `push-websocket:${this.instanceId}:subscriber` },
      (delay) => this.logEnded('subscriber', delay),
    );
    this.commands.defineCommand('pushwsPublish', { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
    this.commands.defineCommand('pushwsHistory', { numberOfKeys: 2, lua: HISTORY_SCRIPT });
    this.scripts = this.commands as unknown as ScriptCommands;
    this.watch();
    this.logger.info(`Redis backplane: connecting to ${this.where} as instance ${this.instanceId}`);
  }

  get state(): BrokerState {
    return this.current;
  }

  async publish(
    channel: string,
    data: string,
    options: PublishOptions = {},
  ): Promise<PublishResult> {
    this.checkChannel(channel);
    const key = options.idempotencyKey;
    const problem = key === undefined ? undefined : checkIdempotencyKey(key);
    if (problem !== undefined) throw new RangeError(problem);
    this.checkUp();
    const keys = channelKeys(this.prefix, channel);
    const fingerprint = key === undefined ? '' : dataFingerprint(data);
    let reply: [number, string, string?];
    try {
      reply = await this.scripts.pushwsPublish(
        keys.meta,
        keys.stream,
        // Without a key, a name in the channel's slot that the script never touches.
        idempotencyKeyName(this.prefix, channel, key ?? ''),
        randomEpoch(),
        data,
        this.historySize,
        this.historyTtlMs,
        this.channelTtlMs,
        publicationTopic(this.prefix, channel),
        fingerprint,
        this.idempotencyWindowMs,
      );
    } catch (error) {
      throw this.mapError(error, 'publishing');
    }
    const [offset, epoch, seen] = reply;
    if (seen === undefined) return { offset: Number(offset), epoch };
    if (seen !== fingerprint) throw new IdempotencyKeyReusedError();
    return { offset: Number(offset), epoch, replayed: true };
  }

  async publishToClient(clientId: string, data: string): Promise<boolean> {
    if (this.closed) throw new BrokerClosedError();
    const instance = instanceOfClientId(clientId);
    if (instance === undefined) throw new InvalidClientIdError(clientId);
    if (instance === this.instanceId) {
      // Our own client: no need for the round trip (works while Redis is down too).
      queueMicrotask(() => {
        if (!this.closed) this.emit('clientMessage', { clientId, data });
      });
      return true;
    }
    this.checkUp();
    try {
      const receivers = await this.commands.publish(
        clientTopic(this.prefix, instance),
        encodeClientMessage(clientId, data),
      );
      return receivers > 0;
    } catch (error) {
      throw this.mapError(error, 'sending to a client');
    }
  }

  async toOtherInstances(message: string): Promise<void> {
    if (this.closed) throw new BrokerClosedError();
    this.checkUp();
    try {
      await this.commands.publish(
        instancesTopic(this.prefix),
        encodeInstanceMessage(this.instanceId, message),
      );
    } catch (error) {
      throw this.mapError(error, 'sending to the instances');
    }
  }

  async notify(channel: string, data: string): Promise<void> {
    this.checkChannel(channel);
    this.checkUp();
    try {
      await this.commands.publish(
        publicationTopic(this.prefix, channel),
        encodeNotice(this.instanceId, data),
      );
    } catch (error) {
      throw this.mapError(error, 'sending a notice');
    }
  }

  async subscribe(channel: string): Promise<void> {
    this.checkChannel(channel);
    const first = this.counts.add(channel);
    // Every caller waits for the channel's SUBSCRIBE, not only the first: a second
    // client must not read history before live publications reach this instance.
    if (!first) return this.subscribing.get(channel);
    if (this.subscriber.status !== 'ready') return;
    const done = this.subscriber.subscribe(publicationTopic(this.prefix, channel)).then(
      () => undefined,
      (error: unknown) => {
        // The link broke: the resubscribe on recovery covers this channel.
        this.logger.debug(`Redis backplane: subscribe ${channel} failed: ${this.errorText(error)}`);
      },
    );
    this.subscribing.set(channel, done);
    await done;
    if (this.subscribing.get(channel) === done) this.subscribing.delete(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.counts.remove(channel) || this.subscriber.status !== 'ready') return;
    try {
      await this.subscriber.unsubscribe(publicationTopic(this.prefix, channel));
    } catch (error) {
      this.logger.debug(`Redis backplane: unsubscribe ${channel} failed: ${this.errorText(error)}`);
    }
  }

  async history(channel: string, sinceOffset: number, epoch: string): Promise<HistoryResult> {
    this.checkChannel(channel);
    checkSince(sinceOffset);
    this.checkUp();
    const keys = channelKeys(this.prefix, channel);
    let reply: [string, string, string, string[]];
    try {
      reply = await this.scripts.pushwsHistory(
        keys.meta,
        keys.stream,
        randomEpoch(),
        this.historySize,
        this.historyTtlMs,
        this.channelTtlMs,
        sinceOffset,
      );
    } catch (error) {
      throw this.mapError(error, 'reading history');
    }
    const [current, offset, firstKept, flat] = reply;
    const after = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      after.push({ channel, offset: Number(flat[i]), epoch: current, data: flat[i + 1] });
    }
    return answerHistory(
      { epoch: current, offset: Number(offset), firstKept: Number(firstKept), after },
      sinceOffset,
      epoch,
      this.historySize > 0,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.resubscribeTimer);
    await Promise.all([this.commands, this.subscriber].map(disconnect));
  }

  private watch(): void {
    this.commands.on('ready', () => {
      this.commandsReady = true;
      this.update();
    });
    this.subscriber.on('ready', () => {
      clearTimeout(this.resubscribeTimer);
      this.subscribeRetry.reset();
      void this.resubscribe();
    });
    this.subscriber.on('message', (topic: string, message: string) => this.deliver(topic, message));
    for (const connection of [this.commands, this.subscriber]) {
      connection.on('error', (error: Error) => {
        this.lastError = this.errorText(error);
        if (!this.downLogged && !this.closed && this.current === 'down') this.logDown();
        else this.logger.debug(`Redis backplane error at ${this.where}: ${this.lastError}`);
      });
      connection.on('close', () => {
        if (connection === this.commands) this.commandsReady = false;
        else this.subscriberReady = false;
        this.update();
      });
      connection.on('reconnecting', (delay: number) => {
        if (!this.closed) this.logger.debug(`Redis backplane: reconnecting in ${delay} ms`);
      });
    }
  }

  /** After every (re)connect: this instance's topics and all counted channels. */
  private async resubscribe(): Promise<void> {
    const topics = [
      this.ownTopic,
      instancesTopic(this.prefix),
      publicationTopic(this.prefix, BROADCAST_CHANNEL),
      ...this.counts.channels().map((channel) => publicationTopic(this.prefix, channel)),
    ];
    try {
      await this.subscriber.subscribe(...topics);
    } catch (error) {
      const text = this.errorText(error);
      if (this.closed || this.subscriber.status !== 'ready') {
        this.logger.debug(`Redis backplane: resubscribe failed: ${text}`);
        return; // The link broke again; the next 'ready' retries.
      }
      // Hazard: refused on a link that stays up (an ACL without these channels, a
      // command timeout on a slow Redis). No 'ready' will come to retry it, and the
      // broker stayed down for good until this retry was added.
      const delay = this.subscribeRetry.fail();
      this.lastError = `SUBSCRIBE refused: ${text}`;
      const line = `Redis backplane at ${this.where}: SUBSCRIBE refused (${text}); retrying in ${delay} ms`;
      if (this.subscribeRetry.failures === 1) {
        this.logger.warn(line);
        this.downLogged = this.current === 'down';
      } else {
        this.logger.debug(line);
      }
      this.resubscribeTimer = setTimeout(() => void this.resubscribe(), delay);
      return;
    }
    if (this.subscriber.status !== 'ready') return;
    this.subscribeRetry.reset();
    this.subscriberReady = true;
    this.update();
  }

  private deliver(topic: string, message: string): void {
    if (this.closed) return;
    if (topic === this.ownTopic) {
      const decoded = decodeClientMessage(message);
      if (decoded !== undefined) this.emit('clientMessage', decoded);
      return;
    }
    if (topic === instancesTopic(this.prefix)) {
      const decoded = decodeInstanceMessage(message);
      // Every instance gets it, the sender too: the sender has acted already.
      if (decoded !== undefined && decoded.from !== this.instanceId) {
        this.emit('instanceMessage', decoded.message);
      }
      return;
    }
    const channel = topic.slice(publicationTopic(this.prefix, '').length);
    // A message may still arrive just after the last unsubscribe: not ours any more.
    if (channel !== BROADCAST_CHANNEL && !this.counts.has(channel)) return;
    const notice = decodeNotice(message);
    if (notice !== undefined) {
      if (notice.from !== this.instanceId) this.emit('notice', channel, notice.data);
      return;
    }
    const publication = decodePublication(channel, message);
    if (publication !== undefined) this.emit('publication', publication);
  }

  private update(): void {
    if (this.closed) return;
    const next: BrokerState = this.commandsReady && this.subscriberReady ? 'up' : 'down';
    const previous = this.current;
    if (next === previous) return;
    this.current = next;
    if (next === 'up') {
      const after = this.downLogged ? ` after ${Date.now() - this.downSince} ms down` : '';
      this.logger.info(
        `Redis backplane up at ${this.where}${after}; subscribed to ${this.counts.size} channels`,
      );
      this.lastError = undefined;
      this.downLogged = false;
    } else {
      this.downSince = Date.now();
      this.logDown();
    }
    this.emit('state', next, previous);
  }

  private logEnded(connection: 'commands' | 'subscriber', delay: number): void {
    this.logger.warn(
      `Redis backplane: ioredis ended the ${connection} connection to ${this.where} ` +
        `(${this.lastError ?? 'no error'}); opening it again in ${delay} ms`,
    );
  }

  private logDown(): void {
    this.downLogged = true;
    this.logger.warn(
      `Redis backplane down at ${this.where}: ${this.lastError ?? 'connection lost'}; ` +
        'publishing refused until it is back, reconnecting with back-off',
    );
  }

  private checkChannel(channel: string): void {
    if (this.closed) throw new BrokerClosedError();
    if (!isBrokerChannel(channel)) throw new InvalidChannelError(channel);
  }

  private checkUp(): void {
    if (this.closed) throw new BrokerClosedError();
    if (this.current !== 'up') {
      throw new BrokerDownError(
        `Redis at ${this.where} is unreachable (${this.lastError ?? 'connecting'})`,
      );
    }
  }

  private errorText(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    return this.secret === '' ? text : text.split(this.secret).join('***');
  }

  /** A command's failure as what its caller must know: done, not done, or unknown. */
  private mapError(error: unknown, doing: string): Error {
    if (this.closed) return new BrokerClosedError();
    const text = this.errorText(error);
    const fault = redisFault(error);
    switch (fault) {
      case 'not sent':
        return new BrokerDownError(`Redis at ${this.where} is unreachable (${text}): not ${doing}`);
      case 'refused':
        return new BrokerDownError(`Redis at ${this.where} refused ${doing} (${text})`);
      case 'cut':
        return new BrokerUncertainError(
          `the link to Redis at ${this.where} broke while ${doing} (${text}): ` +
            'it may or may not have been done',
        );
    }
  }
}

/**
 * One connection to the backplane. With Sentinel, ioredis asks the sentinels for the
 * primary on every (re)connect and checks the node's role once connected; it also
 * listens for the sentinels' +switch-master to leave a demoted primary at once.
 */
export function connect(
  target: RedisTarget,
  backoff: BackoffOptions,
  options: RedisOptions,
  onEnded: (reopenInMs: number) => void,
): Redis {
  const connection = open(target, backoff, options);
  reopenWhenEnded(connection, backoff, onEnded);
  return connection;
}

/** Stops reopenWhenEnded for a connection: disconnect() below ends it for good. */
const stopReopening = new WeakMap<Redis, () => void>();

/**
 * Hazard: ioredis can end a connection for good, with no retry, though we never closed
 * it. Seen with Sentinel, one failover in about fourteen under load: the sentinels'
 * +switch-master reached the failover detector while a reconnect was still asking them
 * for the primary; the detector's disconnect made that reconnect fail ("Connection is
 * closed.") and the connection ended. An instance then stayed down until restarted.
 * So an end that disconnect() did not ask for opens the connection again, with the
 * back-off (reset by the next 'ready').
 */
function reopenWhenEnded(
  connection: Redis,
  backoff: BackoffOptions,
  onEnded: (reopenInMs: number) => void,
): void {
  const retry = Backoff.jittered(backoff);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  stopReopening.set(connection, () => {
    stopped = true;
    clearTimeout(timer);
  });
  connection.on('ready', () => retry.reset());
  connection.on('end', () => {
    if (stopped) return;
    const delay = retry.fail();
    onEnded(delay);
    clearTimeout(timer);
    // connect() rejects when this attempt fails too: its 'error' and 'end' say so.
    timer = setTimeout(() => void connection.connect().catch(() => undefined), delay);
  });
}

function open(target: RedisTarget, backoff: BackoffOptions, options: RedisOptions): Redis {
  switch (target.kind) {
    case 'direct':
      return new Redis(target.url, options);
    case 'sentinel': {
      const username = target.username === '' ? undefined : target.username;
      const password = target.password === '' ? undefined : target.password;
      return new Redis({
        ...options,
        sentinels: target.sentinels,
        name: target.name,
        role: 'master',
        db: target.db,
        username,
        password,
        sentinelUsername: username,
        sentinelPassword: password,
        failoverDetector: true,
        // Every sentinel unreachable: keep asking, with our back-off (null would stop).
        sentinelRetryStrategy: (attempt) => equalJitterDelay(attempt, backoff),
        sentinelCommandTimeout: options.connectTimeout,
        // A write refused by a demoted primary (READONLY): reconnect, which asks the
        // sentinels for the new one. The command itself fails (not resent): a 503.
        reconnectOnError: (error) => /^READONLY/.test(error.message),
      });
    }
  }
}

/** Closes a connection for good and waits for it to end (bounded), leaving no handle. */
export function disconnect(connection: Redis): Promise<void> {
  stopReopening.get(connection)?.();
  if (connection.status === 'end') return Promise.resolve();
  if (connection.status === 'reconnecting') {
    // No socket, only the retry timer, which disconnect() clears: nothing to wait for.
    connection.disconnect();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2000);
    connection.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    connection.disconnect();
  });
}
