import type { Transport } from '../clients/client-lifecycle';

/**
 * Presence: who is connected to a channel, across every instance. One small interface,
 * two stores (in memory for one instance; Redis for many), one contract test
 * (test/contract/presence-contract.ts).
 */

/** One client on a channel, as GET /presence shows it. */
export interface PresenceEntry {
  /** The client's id across instances, `<instance>-<n>`. */
  client: string;
  channel: string;
  /** Its verified user, or null. */
  user: string | null;
  instance: string;
  /** When it connected (ISO 8601). */
  since: string;
  transport: Transport;
}

/** A channel got its first client, or its last left and none came within the grace. */
export type ChannelEvent = 'occupied' | 'vacated';

export interface PresenceStore {
  /** Where the entries live: 'memory' (this instance) or 'redis' (every instance). */
  readonly kind: 'memory' | 'redis';
  /**
   * Told once per change, across every instance of the store: `occupied` when a
   * channel gets its first client, `vacated` when its last has left and no client came
   * back within the vacate grace (a quick reconnect is neither). Exactly one instance is
   * told of each change.
   */
  onChannel: ((channel: string, event: ChannelEvent) => void) | undefined;
  /**
   * A client of this instance connected. Never rejects: a store that cannot write now
   * (Redis down) writes this instance's whole table again once it can.
   */
  join(entry: PresenceEntry): void;
  /**
   * A client of this instance that connected to the previous master (a hot upgrade
   * adopted its worker, or drained it): listed as `join` lists it, but no channel event
   * is told (its channel was occupied already), so that its `leave` is consistent.
   */
  adopt(entry: PresenceEntry): void;
  /** A client of this instance has gone (same fault handling as join). */
  leave(entry: PresenceEntry): void;
  /**
   * The clients of a channel on every live instance, oldest first. Rejects with
   * PresenceUnavailableError when the answer cannot be known now (never stale data).
   */
  list(channel: string): Promise<PresenceEntry[]>;
  /** Stops timers and connections; this instance's entries are removed where it can. */
  close(): Promise<void>;
}

/** The store cannot answer now (Redis down or slow): HTTP 503 with the reason. */
export class PresenceUnavailableError extends Error {
  readonly code = 'PRESENCE_UNAVAILABLE';
  constructor(detail: string) {
    super(`presence unavailable: ${detail}`);
    this.name = 'PresenceUnavailableError';
  }
}

/** Entries oldest first, then by client id: one order for both stores. */
export function byAge(a: PresenceEntry, b: PresenceEntry): number {
  if (a.since !== b.since) return a.since < b.since ? -1 : 1;
  return a.client < b.client ? -1 : a.client > b.client ? 1 : 0;
}
