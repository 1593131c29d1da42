import { byAge, type PresenceEntry, type PresenceStore } from './types';

/**
 * Presence without a backplane: this instance's clients, in a table by channel (a
 * channel's entry goes with its last client: the table never outgrows the clients).
 */
export class MemoryPresence implements PresenceStore {
  readonly kind = 'memory';
  private readonly byChannel = new Map<string, Map<string, PresenceEntry>>();

  join(entry: PresenceEntry): void {
    let clients = this.byChannel.get(entry.channel);
    if (clients === undefined)
      this.byChannel.set(entry.channel, (clients = new Map<string, PresenceEntry>()));
    clients.set(entry.client, entry);
  }

  leave(entry: PresenceEntry): void {
    const clients = this.byChannel.get(entry.channel);
    if (clients?.delete(entry.client) === true && clients.size === 0) {
      this.byChannel.delete(entry.channel);
    }
  }

  list(channel: string): Promise<PresenceEntry[]> {
    return Promise.resolve([...(this.byChannel.get(channel)?.values() ?? [])].sort(byAge));
  }

  close(): Promise<void> {
    this.byChannel.clear();
    return Promise.resolve();
  }
}
