import { randomEpoch } from './epoch';
import { answerHistory } from './history-answer';
import type { HistoryResult, PublishResult } from './types';

/**
 * The in-memory broker's channels: offset counters, epochs and bounded history. Pure
 * apart from the clock and the epoch source, which are injected.
 *
 * Bounds, so that publishing to ever new channel names cannot grow memory without end:
 * - per channel: the last `size` publications, none older than `ttlMs`;
 * - in total: at most `maxBytes` of history (each publication counts its UTF-8 bytes
 *   plus ENTRY_OVERHEAD) and at most `maxChannels` channels with history; past either,
 *   the history of the least recently published channel is dropped, whole;
 * - a channel with no history and no subscriber is forgotten at once: it costs nothing.
 *   (Its next publication starts a new epoch at offset 1, as the old one is gone.)
 * A publication larger than `maxBytes` is delivered but not kept: the channel's history
 * is dropped, so a client behind it learns 'offset too old', never a silent gap.
 */
export interface MemoryHistoryLimits {
  /** Publications kept per channel; 0 turns history off. */
  size: number;
  /** Age limit of kept publications in ms; 0: none. */
  ttlMs: number;
  maxBytes: number;
  maxChannels: number;
}

export const DEFAULT_MEMORY_LIMITS: MemoryHistoryLimits = {
  size: 100,
  ttlMs: 5 * 60_000,
  maxBytes: 64 * 1024 * 1024,
  maxChannels: 10_000,
};

/** What one kept publication costs beyond its data (object, array slot, strings). */
export const ENTRY_OVERHEAD = 64;

interface Entry {
  offset: number;
  data: string;
  at: number;
  bytes: number;
}

interface ChannelRecord {
  epoch: string;
  offset: number;
  entries: Entry[];
  bytes: number;
}

export interface MemoryHistoryStats {
  /** Channels known: with history or with a subscriber. */
  channels: number;
  channelsWithHistory: number;
  publications: number;
  bytes: number;
}

/** One channel's counter and history, as a hot upgrade hands it to the new master. */
export interface ChannelHistoryState {
  channel: string;
  epoch: string;
  offset: number;
  entries: { offset: number; data: string; at: number }[];
}

export class MemoryHistory {
  private readonly records = new Map<string, ChannelRecord>();
  /** The channels that keep history, least recently published first. */
  private readonly withHistory = new Map<string, ChannelRecord>();
  private totalBytes = 0;

  constructor(
    private readonly limits: MemoryHistoryLimits,
    /** True while the channel has a subscriber: its counter must survive empty history. */
    private readonly isRetained: (channel: string) => boolean,
    private readonly now: () => number = Date.now,
    private readonly newEpoch: () => string = randomEpoch,
  ) {}

  get historyOn(): boolean {
    return this.limits.size > 0;
  }

  append(channel: string, data: string): PublishResult {
    const record = this.records.get(channel) ?? this.create(channel);
    record.offset += 1;
    if (this.historyOn) {
      this.expire(channel, record);
      const bytes = Buffer.byteLength(data) + ENTRY_OVERHEAD;
      if (bytes > this.limits.maxBytes) {
        this.drop(channel, record);
      } else {
        record.entries.push({ offset: record.offset, data, at: this.now(), bytes });
        record.bytes += bytes;
        this.totalBytes += bytes;
        if (record.entries.length > this.limits.size) this.shift(record);
        this.withHistory.delete(channel);
        this.withHistory.set(channel, record);
        this.enforceTotals(channel);
      }
    }
    this.forgetIfIdle(channel, record);
    return { offset: record.offset, epoch: record.epoch };
  }

  read(channel: string, since: number, epoch: string): HistoryResult {
    const record = this.records.get(channel) ?? this.create(channel);
    this.expire(channel, record);
    this.forgetIfIdle(channel, record);
    return answerHistory(
      {
        epoch: record.epoch,
        offset: record.offset,
        firstKept: record.entries[0]?.offset ?? record.offset + 1,
        after: record.entries
          .filter((entry) => entry.offset > since)
          .map((entry) => ({
            channel,
            offset: entry.offset,
            epoch: record.epoch,
            data: entry.data,
          })),
      },
      since,
      epoch,
      this.historyOn,
    );
  }

  /** The channel lost its last subscriber: forget it unless it keeps history. */
  release(channel: string): void {
    const record = this.records.get(channel);
    if (record !== undefined) this.forgetIfIdle(channel, record);
  }

  /** Drops expired publications (their channels are the least recently published). */
  sweep(): void {
    if (this.limits.ttlMs <= 0) return;
    for (const [channel, record] of this.withHistory) {
      this.expire(channel, record);
      this.forgetIfIdle(channel, record);
      if (record.entries.length > 0) break;
    }
  }

  stats(): MemoryHistoryStats {
    let publications = 0;
    for (const record of this.withHistory.values()) publications += record.entries.length;
    return {
      channels: this.records.size,
      channelsWithHistory: this.withHistory.size,
      publications,
      bytes: this.totalBytes,
    };
  }

  /**
   * Every channel's epoch, offset and history (least recently published first), for a
   * hot upgrade: the new master restores them, so that offsets go on and returning
   * clients recover as if nothing happened.
   */
  snapshot(): ChannelHistoryState[] {
    const withHistory = [...this.withHistory.keys()];
    const order = [...new Set([...this.records.keys()].filter((c) => !this.withHistory.has(c)))];
    return [...order, ...withHistory].flatMap((channel) => {
      const record = this.records.get(channel);
      if (record === undefined) return [];
      const entries = record.entries.map(({ offset, data, at }) => ({ offset, data, at }));
      return [{ channel, epoch: record.epoch, offset: record.offset, entries }];
    });
  }

  /** Takes on a snapshot's channels (before any publication here). */
  restore(channels: readonly ChannelHistoryState[]): void {
    for (const state of channels) {
      const entries = state.entries.map((entry) => ({
        ...entry,
        bytes: Buffer.byteLength(entry.data) + ENTRY_OVERHEAD,
      }));
      const bytes = entries.reduce((sum, entry) => sum + entry.bytes, 0);
      const record: ChannelRecord = { epoch: state.epoch, offset: state.offset, entries, bytes };
      this.records.set(state.channel, record);
      if (entries.length > 0) {
        this.withHistory.set(state.channel, record);
        this.totalBytes += bytes;
      }
    }
  }

  private create(channel: string): ChannelRecord {
    const record: ChannelRecord = { epoch: this.newEpoch(), offset: 0, entries: [], bytes: 0 };
    this.records.set(channel, record);
    return record;
  }

  private expire(channel: string, record: ChannelRecord): void {
    if (this.limits.ttlMs <= 0) return;
    const oldest = this.now() - this.limits.ttlMs;
    while (record.entries.length > 0 && record.entries[0].at < oldest) this.shift(record);
    if (record.entries.length === 0) this.withHistory.delete(channel);
  }

  private shift(record: ChannelRecord): void {
    const entry = record.entries.shift() as Entry;
    record.bytes -= entry.bytes;
    this.totalBytes -= entry.bytes;
  }

  private drop(channel: string, record: ChannelRecord): void {
    this.totalBytes -= record.bytes;
    record.bytes = 0;
    record.entries = [];
    this.withHistory.delete(channel);
  }

  /** Drops the least recently published channels' history until within the totals. */
  private enforceTotals(keep: string): void {
    for (const [channel, record] of this.withHistory) {
      if (
        this.totalBytes <= this.limits.maxBytes &&
        this.withHistory.size <= this.limits.maxChannels
      ) {
        return;
      }
      if (channel === keep) continue;
      this.drop(channel, record);
      this.forgetIfIdle(channel, record);
    }
    // Only the channel just published to is left over the bytes: it loses its oldest.
    const record = this.withHistory.get(keep);
    while (record !== undefined && this.totalBytes > this.limits.maxBytes) this.shift(record);
  }

  private forgetIfIdle(channel: string, record: ChannelRecord): void {
    if (record.entries.length === 0 && !this.isRetained(channel)) {
      if (this.records.get(channel) === record) this.records.delete(channel);
    }
  }
}
