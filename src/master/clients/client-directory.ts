import type { ClientInfo, Worker } from '../pool/worker';

/** A place held for a client whose handshake is still in flight. */
export interface Reservation {
  /** The handshake completed: the client gets its id and is listed (`user`: verified, if any). */
  admit(worker: Worker, remote: string, channel: string, user?: string): ClientInfo;
  /** The handshake did not complete: the place is free again. */
  cancel(): void;
}

/**
 * Who the clients are: it hands out client ids, holds --max-clients (counting
 * handshakes still waiting for a worker), and finds a client's worker by id.
 */
export class ClientDirectory {
  private nextId = 1;
  private pending = 0;
  private readonly byId = new Map<number, Worker>();

  constructor(private readonly maxClients: number) {}

  /** Clients connected, plus handshakes in flight. */
  get load(): number {
    return this.byId.size + this.pending;
  }

  get size(): number {
    return this.byId.size;
  }

  /** A place for one more client, or undefined when the server is full. */
  reserve(): Reservation | undefined {
    if (this.load >= this.maxClients) return undefined;
    this.pending++;
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
        return client;
      },
      cancel: () => void close(),
    };
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
  }
}
