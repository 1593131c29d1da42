import type { ClientConnected, ClientLifecycle } from '../clients/client-lifecycle';
import type { PresenceEntry, PresenceStore } from './types';

/** GET /presence/CHANNEL's body. */
export interface PresenceBody {
  channel: string;
  /** 'memory': this instance's clients only; 'redis': every live instance's. */
  scope: 'instance' | 'all instances';
  counts: {
    clients: number;
    /** Distinct users (anonymous clients not counted). */
    users: number;
    anonymous: number;
    instances: number;
    by_instance: Record<string, number>;
    by_transport: Record<string, number>;
  };
  clients: Omit<PresenceEntry, 'channel'>[];
}

/** A connected client as a presence entry. */
export function entryOf(client: ClientConnected, instance: string): PresenceEntry {
  return {
    client: client.globalId,
    channel: client.channel,
    user: client.user ?? null,
    instance,
    since: client.since.toISOString(),
    transport: client.transport,
  };
}

/** The body of an answer: the entries and their counts. Pure. */
export function presenceBody(
  channel: string,
  entries: readonly PresenceEntry[],
  kind: PresenceStore['kind'],
): PresenceBody {
  const users = new Set<string>();
  let anonymous = 0;
  const byInstance: Record<string, number> = {};
  const byTransport: Record<string, number> = {};
  for (const entry of entries) {
    if (entry.user === null) anonymous++;
    else users.add(entry.user);
    byInstance[entry.instance] = (byInstance[entry.instance] ?? 0) + 1;
    byTransport[entry.transport] = (byTransport[entry.transport] ?? 0) + 1;
  }
  return {
    channel,
    scope: kind === 'redis' ? 'all instances' : 'instance',
    counts: {
      clients: entries.length,
      users: users.size,
      anonymous,
      instances: Object.keys(byInstance).length,
      by_instance: byInstance,
      by_transport: byTransport,
    },
    clients: entries.map(({ client, user, instance, since, transport }) => ({
      client,
      user,
      instance,
      since,
      transport,
    })),
  };
}

/** Keeps the store told of this instance's clients, from the client lifecycle. */
export class Presence {
  constructor(
    readonly store: PresenceStore,
    lifecycle: ClientLifecycle,
  ) {
    lifecycle.on('connected', (client) => store.join(entryOf(client, lifecycle.instance)));
    lifecycle.on('adopted', (client) => store.adopt(entryOf(client, lifecycle.instance)));
    lifecycle.on('ended', (client) => store.leave(entryOf(client, lifecycle.instance)));
  }

  /** Rejects with PresenceUnavailableError when the store cannot answer now. */
  async answer(channel: string): Promise<PresenceBody> {
    return presenceBody(channel, await this.store.list(channel), this.store.kind);
  }
}
