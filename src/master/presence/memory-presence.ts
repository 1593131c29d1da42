import { byAge, type ChannelEvent, type PresenceEntry, type PresenceStore } from './types';

export interface MemoryPresenceOptions {
  /** How long a channel stays occupied after its last client left (ms). */
  vacateGraceMs?: number;
}

/**
 * Presence without a backplane: this instance's clients, in a table by channel (a
 * channel's entry goes with its last client: the table never outgrows the clients).
 * A channel left empty is vacated after the grace unless a client came back.
 */
export class MemoryPresence implements PresenceStore {
  readonly kind = 'memory';
  onChannel: ((channel: string, event: ChannelEvent) => void) | undefined;
  private readonly byChannel = new Map<string, Map<string, PresenceEntry>>();
  /** Channels left empty, waiting for the grace to end. */
  private readonly vacating = new Map<string, NodeJS.Timeout>();
  private readonly graceMs: number;

  constructor(options: MemoryPresenceOptions = {}) {
    this.graceMs = options.vacateGraceMs ?? 5000;
  }

  join(entry: PresenceEntry): void {
    this.enter(entry, true);
  }

  adopt(entry: PresenceEntry): void {
    this.enter(entry, false);
  }

  /** Lists `entry`; `tell`: a channel that was empty is told `occupied`. */
  private enter(entry: PresenceEntry, tell: boolean): void {
    let clients = this.byChannel.get(entry.channel);
    if (clients === undefined) {
      this.byChannel.set(entry.channel, (clients = new Map<string, PresenceEntry>()));
      const pending = this.vacating.get(entry.channel);
      if (pending !== undefined) {
        // Back within the grace: still occupied, nothing to tell.
        clearTimeout(pending);
        this.vacating.delete(entry.channel);
      } else if (tell) {
        this.onChannel?.(entry.channel, 'occupied');
      }
    }
    clients.set(entry.client, entry);
  }

  leave(entry: PresenceEntry): void {
    const clients = this.byChannel.get(entry.channel);
    if (clients?.delete(entry.client) !== true || clients.size > 0) return;
    this.byChannel.delete(entry.channel);
    const channel = entry.channel;
    const timer = setTimeout(() => {
      this.vacating.delete(channel);
      this.onChannel?.(channel, 'vacated');
    }, this.graceMs);
    timer.unref();
    this.vacating.set(channel, timer);
  }

  list(channel: string): Promise<PresenceEntry[]> {
    return Promise.resolve([...(this.byChannel.get(channel)?.values() ?? [])].sort(byAge));
  }

  close(): Promise<void> {
    for (const timer of this.vacating.values()) clearTimeout(timer);
    this.vacating.clear();
    this.byChannel.clear();
    return Promise.resolve();
  }
}
