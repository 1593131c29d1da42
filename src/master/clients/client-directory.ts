import type { ClientInfo, Worker } from '../pool/worker';

/** A place held for a client whose handshake is still in flight. */
export interface Reservation {
  /** The handshake completed: the client gets its id and is listed (`user`: verified, if any). */
  admit(worker: Worker, remote: string, channel: string, user?: string): ClientInfo;
  /** The handshake did not complete: the place is free again. */
  cancel(): void;
}

/**
 * Who the clients are: it hands out client ids, holds --max-clients and
 * --max-clients-per-ip (counting handshakes still waiting for a worker), and finds a
 * client's worker by id. The per-address table holds only addresses with a client or a
 * handshake in flight: it never outgrows --max-clients.
 */
export class ClientDirectory {
  private nextId = 1;
  private pending = 0;
  private readonly byId = new Map<number, Worker>();
  /** The address each client was counted under. */
  private readonly addressOf = new Map<number, string>();
  /** Clients and handshakes in flight, per address. */
  private readonly perAddress = new Map<string, number>();

  constructor(
    private maxClients: number,
    /** --max-clients-per-ip; 0: no limit. */
    private maxPerAddress = 0,
  ) {}

  /**
   * --max-clients and --max-clients-per-ip changed while running (SIGHUP): they bind
   * the next handshakes; clients already over a lowered limit stay.
   */
  setLimits(maxClients: number, maxPerAddress: number): void {
    this.maxClients = maxClients;
    this.maxPerAddress = maxPerAddress;
  }

  /** Clients connected, plus handshakes in flight. */
  get load(): number {
    return this.byId.size + this.pending;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Clients and handshakes in flight from `address`. */
  addressLoad(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** `address` holds --max-clients-per-ip places already (never, without the flag). */
  addressFull(address: string): boolean {
    return this.maxPerAddress > 0 && this.addressLoad(address) >= this.maxPerAddress;
  }

  /**
   * A place for one more client (from `address`, counted until the client is removed),
   * or undefined when the server is full. The caller checks addressFull() first.
   */
  reserve(address = ''): Reservation | undefined {
    if (this.load >= this.maxClients) return undefined;
    this.pending++;
    this.countAddress(address, 1);
    let open = true;
    const close = (): boolean => {
      if (!open) return false;
      open = false;
      this.pending--;
      return true;
    };
    return {
      admit: (worker, remote, channel, user) => {
        if (!close()) throw new Error('reservation already used');
        const client: ClientInfo = { id: this.nextId++, remote, channel, since: new Date() };
        if (user !== undefined) client.user = user;
        this.byId.set(client.id, worker);
        this.addressOf.set(client.id, address);
        return client;
      },
      cancel: () => {
        if (close()) this.countAddress(address, -1);
      },
    };
  }

  /** The id the next client gets (handed to a hot upgrade's new master). */
  get nextClientId(): number {
    return this.nextId;
  }

  /** Ids below `next` were given by an older master: none is given again. */
  continueFrom(next: number): void {
    this.nextId = Math.max(this.nextId, next);
  }

  /** A client already connected, served by a worker adopted in a hot upgrade. */
  adopt(worker: Worker, client: ClientInfo, address: string): void {
    this.byId.set(client.id, worker);
    this.addressOf.set(client.id, address);
    this.countAddress(address, 1);
    this.continueFrom(client.id + 1);
  }

  worker(id: number): Worker | undefined {
    return this.byId.get(id);
  }

  workers(): Worker[] {
    return [...this.byId.values()];
  }

  /** The client has gone. */
  remove(id: number): void {
    this.byId.delete(id);
    const address = this.addressOf.get(id);
    if (address === undefined) return;
    this.addressOf.delete(id);
    this.countAddress(address, -1);
  }

  private countAddress(address: string, change: 1 | -1): void {
    const count = (this.perAddress.get(address) ?? 0) + change;
    if (count > 0) this.perAddress.set(address, count);
    else this.perAddress.delete(address);
  }
}
