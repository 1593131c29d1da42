import type Redis from 'ioredis';
import { DEFAULT_BACKOFF, equalJitterDelay } from '../../shared/exponential-backoff';
import { connect, disconnect } from '../broker/redis-broker';
import { parseRedisUrl, redactRedisUrl } from '../broker/redis-url';
import {
  HEARTBEAT_SCRIPT,
  JOIN_SCRIPT,
  LEAVE_SCRIPT,
  LIST_SCRIPT,
  presenceKeys,
  REGISTER_SCRIPT,
  registryKey,
  SWEEP_SCRIPT,
  SYNC_SCRIPT,
  type PresenceKeys,
  UNREGISTER_SCRIPT,
  VACATE_SCRIPT,
} from './redis-presence-scripts';
import {
  byAge,
  PresenceUnavailableError,
  type ChannelEvent,
  type PresenceEntry,
  type PresenceStore,
} from './types';

export interface RedisPresenceOptions {
  /** --redis's URL (a password in it is used, never logged). */
  url: string;
  instanceId: string;
  /** How long an instance's entries live without its heartbeat (every ttlMs / 3). */
  ttlMs: number;
  /** How long a channel stays occupied after its last client left (ms). */
  vacateGraceMs?: number;
  keyPrefix?: string;
  logger: {
    warn(line: string): unknown;
    info(line: string): unknown;
    debug(line: string): unknown;
  };
  /** A command with no reply in this time fails: GET /presence then answers 503. */
  commandTimeoutMs?: number;
}

interface ScriptCommands {
  pushwsPresenceJoin(...args: (string | number)[]): Promise<number>;
  pushwsPresenceLeave(...args: (string | number)[]): Promise<number>;
  pushwsPresenceBeat(...args: (string | number)[]): Promise<number>;
  pushwsPresenceSync(...args: (string | number)[]): Promise<number>;
  pushwsPresenceList(...args: (string | number)[]): Promise<string[]>;
  pushwsPresenceVacate(...args: (string | number)[]): Promise<number>;
  pushwsPresenceRegister(...args: (string | number)[]): Promise<number>;
  pushwsPresenceSweep(...args: (string | number)[]): Promise<string[]>;
  pushwsPresenceUnregister(...args: (string | number)[]): Promise<number>;
}

/** Channels a sweep looks at, at most, per heartbeat (the rest wait for the next). */
const SWEEP_LIMIT = 100;

/** The same commands queued on a pipeline (they return the pipeline, not a reply). */
type PipelinedScripts = {
  [Name in keyof ScriptCommands]: (...args: (string | number)[]) => unknown;
};

/** What a client's hash value holds (the rest is in the key and the field). */
interface Stored {
  user: string | null;
  since: string;
  transport: PresenceEntry['transport'];
}

/**
 * Presence across instances (see redis-presence-scripts.ts for the keys): each instance
 * writes its own clients (one script per join or leave) and beats every ttl/3 for each
 * channel it has clients on (one script per channel, pipelined: bounded by its
 * channels, not its clients). A write that failed (Redis down) marks the table dirty:
 * the next heartbeat, or the next read, writes this instance's whole table again.
 * Reads are one script (one round trip); with Redis down they reject (HTTP 503).
 *
 * A connection of its own (besides the broker's two), so presence traffic never
 * queues behind publications.
 */
export class RedisPresence implements PresenceStore {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private readonly scripts: ScriptCommands;
  private readonly where: string;
  private readonly secret: string;
  private readonly prefix: string;
  private readonly local = new Map<string, Map<string, Stored>>();
  private readonly timer: NodeJS.Timeout;
  private dirty = false;
  /** Channels this instance left empty while Redis was away: removed at the next sync. */
  private readonly stale = new Set<string>();
  /** Vacate checks waiting for the grace to end, by channel. */
  private readonly vacating = new Map<string, NodeJS.Timeout>();
  private readonly graceMs: number;
  /** How long an occupied flag outlives its last write: see PresenceKeys.occupied. */
  private readonly holdMs: number;
  private readonly registry: string;
  private sweeping = false;
  private closed = false;
  private downLogged = false;

  onChannel: ((channel: string, event: ChannelEvent) => void) | undefined;

  constructor(private readonly options: RedisPresenceOptions) {
    const parsed = parseRedisUrl(options.url);
    if (!parsed.ok) throw new RangeError(`bad Redis URL: ${parsed.error}`);
    const target = parsed.value;
    this.where = redactRedisUrl(options.url);
    this.secret = target.password;
    this.prefix = options.keyPrefix ?? 'pushws:';
    this.graceMs = options.vacateGraceMs ?? 5000;
    this.holdMs = 2 * options.ttlMs + this.graceMs;
    this.registry = registryKey(this.prefix);
    this.redis = connect(
      target,
      DEFAULT_BACKOFF,
      {
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        retryStrategy: (attempt) => equalJitterDelay(attempt, DEFAULT_BACKOFF),
        connectTimeout: 3000,
        commandTimeout: options.commandTimeoutMs ?? 2000,
        disconnectTimeout: 300,
        connectionName: `push-websocket:${options.instanceId}:presence`,
      },
      (delay) => {
        if (!this.closed) {
          options.logger.warn(
            `Presence: ioredis ended its connection to ${this.where}; opening it again in ${delay} ms`,
          );
        }
      },
    );
    this.redis.defineCommand('pushwsPresenceJoin', { numberOfKeys: 3, lua: JOIN_SCRIPT });
    this.redis.defineCommand('pushwsPresenceLeave', { numberOfKeys: 3, lua: LEAVE_SCRIPT });
    this.redis.defineCommand('pushwsPresenceBeat', { numberOfKeys: 3, lua: HEARTBEAT_SCRIPT });
    this.redis.defineCommand('pushwsPresenceSync', { numberOfKeys: 3, lua: SYNC_SCRIPT });
    this.redis.defineCommand('pushwsPresenceList', { numberOfKeys: 1, lua: LIST_SCRIPT });
    this.redis.defineCommand('pushwsPresenceVacate', { numberOfKeys: 3, lua: VACATE_SCRIPT });
    const registryScripts = [
      ['pushwsPresenceRegister', REGISTER_SCRIPT],
      ['pushwsPresenceSweep', SWEEP_SCRIPT],
      ['pushwsPresenceUnregister', UNREGISTER_SCRIPT],
    ] as const;
    for (const [name, lua] of registryScripts) {
      this.redis.defineCommand(name, { numberOfKeys: 1, lua });
    }
    this.scripts = this.redis as unknown as ScriptCommands;
    this.redis.on('error', (error: Error) => this.down(error));
    this.redis.on('ready', () => {
      if (this.downLogged) this.options.logger.info(`Presence: Redis at ${this.where} is back`);
      this.downLogged = false;
      // Whatever was written while it was away (or lost with a restart) is written again.
      if (this.dirty || this.local.size > 0) void this.sync();
    });
    this.timer = setInterval(() => void this.beat(), Math.max(100, options.ttlMs / 3));
    this.timer.unref();
  }

  /** Whether its connection to Redis is up now. */
  get up(): boolean {
    return this.redis.status === 'ready';
  }

  join(entry: PresenceEntry): void {
    this.enter(entry, true);
  }

  adopt(entry: PresenceEntry): void {
    this.enter(entry, false);
  }

  /** Lists `entry`; `tell`: a channel this write made occupied is told so. */
  private enter(entry: PresenceEntry, tell: boolean): void {
    let clients = this.local.get(entry.channel);
    if (clients === undefined) this.local.set(entry.channel, (clients = new Map<string, Stored>()));
    const stored: Stored = { user: entry.user, since: entry.since, transport: entry.transport };
    clients.set(entry.client, stored);
    this.stale.delete(entry.channel);
    const keys = this.keys(entry.channel);
    this.write(
      (occupied) => {
        if (occupied === 1 && tell) this.onChannel?.(entry.channel, 'occupied');
      },
      async () => {
        const [occupied] = await Promise.all([
          this.scripts.pushwsPresenceJoin(
            ...this.scriptHead(keys),
            entry.client,
            JSON.stringify(stored),
          ),
          // Registered at once: an instance killed before its first beat is swept too.
          this.scripts.pushwsPresenceRegister(this.registry, this.holdMs, entry.channel),
        ]);
        return occupied;
      },
    );
  }

  leave(entry: PresenceEntry): void {
    const clients = this.local.get(entry.channel);
    if (clients?.delete(entry.client) !== true) return;
    if (clients.size === 0) {
      this.local.delete(entry.channel);
      // Until its leave is known done: a sync after a failure removes the hash.
      this.stale.add(entry.channel);
    }
    const keys = this.keys(entry.channel);
    this.write(
      (total) => {
        if (!this.local.has(entry.channel)) this.stale.delete(entry.channel);
        if (total === 0) this.vacateLater(entry.channel);
      },
      () => this.scripts.pushwsPresenceLeave(...this.scriptHead(keys), entry.client),
    );
  }

  async list(channel: string): Promise<PresenceEntry[]> {
    if (this.closed) throw new PresenceUnavailableError('closed');
    if (this.redis.status !== 'ready') {
      throw new PresenceUnavailableError(`Redis at ${this.where} is unreachable`);
    }
    let flat: string[];
    try {
      // This instance's own writes failed a moment ago: put them back first.
      if (this.dirty) await this.sync();
      flat = await this.scripts.pushwsPresenceList(
        this.keys(channel).instances,
        this.options.ttlMs,
      );
    } catch (error) {
      throw new PresenceUnavailableError(`Redis at ${this.where}: ${this.errorText(error)}`);
    }
    return parseList(channel, flat).sort(byAge);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const timer of this.vacating.values()) clearTimeout(timer);
    this.vacating.clear();
    if (this.redis.status === 'ready') {
      // Gone now rather than at the TTL: an empty sync per channel removes our entries.
      const pipeline = this.redis.pipeline();
      for (const channel of this.local.keys()) {
        const keys = this.keys(channel);
        pipeline.del(keys.clients);
        pipeline.zrem(keys.instances, this.options.instanceId);
      }
      await pipeline.exec().catch(() => undefined);
    }
    this.local.clear();
    await disconnect(this.redis);
  }

  /** The keys and first arguments every per-channel script takes. */
  private scriptHead(keys: PresenceKeys): [string, string, string, string, number, number] {
    return [
      keys.instances,
      keys.clients,
      keys.occupied,
      this.options.instanceId,
      this.options.ttlMs,
      this.holdMs,
    ];
  }

  private keys(channel: string): PresenceKeys {
    return presenceKeys(this.prefix, channel, this.options.instanceId);
  }

  /** One write; a failure leaves the table dirty, written again when Redis is back. */
  private write(then: (reply: number) => void, run: () => Promise<number>): void {
    if (this.closed) return;
    if (this.redis.status !== 'ready') {
      this.dirty = true;
      return;
    }
    run().then(
      (reply) => then(Number(reply)),
      (error: unknown) => {
        this.dirty = true;
        this.down(error);
      },
    );
  }

  /**
   * The channel was left empty: after the grace, one script checks it is still empty
   * and still flagged occupied (the first instance to check removes the flag): vacated.
   */
  private vacateLater(channel: string): void {
    clearTimeout(this.vacating.get(channel));
    const timer = setTimeout(() => {
      this.vacating.delete(channel);
      if (this.closed || !this.up) return;
      const keys = this.keys(channel);
      this.scripts.pushwsPresenceVacate(...this.scriptHead(keys)).then(
        (vacated) => {
          if (Number(vacated) === 1) this.onChannel?.(channel, 'vacated');
        },
        (error: unknown) => this.down(error),
      );
    }, this.graceMs);
    timer.unref();
    this.vacating.set(channel, timer);
  }

  /**
   * Every ttl/3: each channel of this instance kept alive (and registered); a lost hash
   * written again; then the sweep of channels whose instances are gone.
   */
  private async beat(): Promise<void> {
    if (this.closed || this.redis.status !== 'ready') return;
    if (this.dirty) await this.sync();
    else await this.beatChannels();
    await this.sweep();
  }

  private async beatChannels(): Promise<void> {
    const channels = [...this.local.keys()];
    if (channels.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const channel of channels) {
      const keys = this.keys(channel);
      (pipeline as unknown as PipelinedScripts).pushwsPresenceBeat(...this.scriptHead(keys));
    }
    (pipeline as unknown as PipelinedScripts).pushwsPresenceRegister(
      this.registry,
      this.holdMs,
      ...channels,
    );
    try {
      const results = (await pipeline.exec()) ?? [];
      if (results.some(([error, alive]) => error !== null || Number(alive) === 0)) {
        this.dirty = true;
        await this.sync();
      }
    } catch (error) {
      this.dirty = true;
      this.down(error);
    }
  }

  /**
   * The hazard this closes: an instance SIGKILLed (or cut off) with a channel's last
   * clients never leaves them, so no vacate check of its own runs; its entries expire
   * after the TTL and nobody else has the channel among its own. Every instance, at
   * each heartbeat, asks the registry for channels nobody has written for the TTL plus
   * the grace (the grace counted from when the dead instance's entries expired, as a
   * normal vacate counts it from the last leave) and runs the vacate check on each:
   * the one DEL of the occupied flag that succeeds, on whichever instance, tells
   * `vacated`, once. A channel still occupied somewhere is written at each beat, so
   * never swept. Bound: the TTL + the grace + one heartbeat (ttl / 3) after the kill.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.closed || this.redis.status !== 'ready') return;
    this.sweeping = true;
    const age = this.options.ttlMs + this.graceMs;
    try {
      const channels = await this.scripts.pushwsPresenceSweep(this.registry, age, SWEEP_LIMIT);
      for (const channel of channels) {
        if (this.closed) return;
        // Ours, or waiting for our own vacate check: not a dead instance's.
        if (this.local.has(channel) || this.vacating.has(channel)) continue;
        const vacated = await this.scripts.pushwsPresenceVacate(
          ...this.scriptHead(this.keys(channel)),
        );
        await this.scripts.pushwsPresenceUnregister(this.registry, age, channel);
        if (Number(vacated) === 1) {
          this.options.logger.info(
            `Presence: channel ${channel} vacated (its instances stopped beating)`,
          );
          this.onChannel?.(channel, 'vacated');
        }
      }
    } catch (error) {
      this.down(error);
    } finally {
      this.sweeping = false;
    }
  }

  /** Writes this instance's whole table again (after an outage, a flush or a restart). */
  private async sync(): Promise<void> {
    if (this.closed || this.redis.status !== 'ready') return;
    this.dirty = false;
    const pipeline = this.redis.pipeline();
    for (const channel of this.stale) {
      const keys = this.keys(channel);
      pipeline.del(keys.clients);
      pipeline.zrem(keys.instances, this.options.instanceId);
    }
    this.stale.clear();
    for (const [channel, clients] of this.local) {
      const keys = this.keys(channel);
      const pairs = [...clients].flatMap(([client, stored]) => [client, JSON.stringify(stored)]);
      (pipeline as unknown as PipelinedScripts).pushwsPresenceSync(
        ...this.scriptHead(keys),
        ...pairs,
      );
    }
    if (this.local.size > 0) {
      (pipeline as unknown as PipelinedScripts).pushwsPresenceRegister(
        this.registry,
        this.holdMs,
        ...this.local.keys(),
      );
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      if (results.some(([error]) => error !== null)) this.dirty = true;
    } catch (error) {
      this.dirty = true;
      this.down(error);
    }
  }

  private down(error: unknown): void {
    if (this.closed) return;
    const text = this.errorText(error);
    if (this.downLogged) {
      this.options.logger.debug(`Presence: Redis at ${this.where}: ${text}`);
      return;
    }
    this.downLogged = true;
    this.options.logger.warn(
      `Presence: Redis at ${this.where} failed (${text}); GET /presence answers 503 until it is back`,
    );
  }

  private errorText(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    return this.secret === '' ? text : text.split(this.secret).join('***');
  }
}

/** LIST_SCRIPT's flat answer as entries (a value that is not ours is skipped). */
export function parseList(channel: string, flat: readonly string[]): PresenceEntry[] {
  const entries: PresenceEntry[] = [];
  let i = 0;
  while (i < flat.length) {
    const instance = flat[i++];
    while (i < flat.length && flat[i] !== '') {
      const client = flat[i];
      const value = flat[i + 1] ?? '';
      i += 2;
      let stored: Partial<Stored>;
      try {
        stored = JSON.parse(value) as Partial<Stored>;
      } catch {
        continue;
      }
      if (typeof stored.since !== 'string') continue;
      entries.push({
        client,
        channel,
        user: typeof stored.user === 'string' ? stored.user : null,
        instance,
        since: stored.since,
        transport: stored.transport === 'sse' ? 'sse' : 'websocket',
      });
    }
    i++; // the '' after an instance's clients
  }
  return entries;
}
