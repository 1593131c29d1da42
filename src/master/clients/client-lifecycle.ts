import { EventEmitter } from 'node:events';
import type { ClientInfo } from '../pool/worker';

/** How a client is served. */
export type Transport = 'websocket' | 'sse';

/** Who closed a connection first (a drop without any close frame: the client). */
export type ClosedBy = 'client' | 'server';

/** A client that has connected: the facts every presence entry and hook starts from. */
export interface ClientConnected {
  /** This instance's number for it (`#ID` in logs). */
  id: number;
  /** `<instance>-<n>`: unique across instances (POST /publish, /presence). */
  globalId: string;
  channel: string;
  /** The verified user, when it has one. */
  user?: string;
  /** "address:port" as logs show it (the address alone when a proxy named it). */
  remote: string;
  /** The address alone (REMOTE_ADDR). */
  address: string;
  transport: Transport;
  /** It asked for join/leave frames (?presence=1). */
  presence: boolean;
  since: Date;
}

/** A client that has gone, with how: the authoritative end, from its worker's reaping. */
export interface ClientEnded extends ClientConnected {
  durationMs: number;
  /** The close code of the first close frame; 1006 when there was none. */
  closeCode: number;
  closedBy: ClosedBy;
  /** The worker's exit status: a code, or the signal that ended it (SIGKILL: killed, OOM). */
  exitCode: number | null;
  exitSignal: string | null;
}

/** What a worker said as its client's connection ended (IPC `closed`). */
export interface Goodbye {
  code: number | undefined;
  side: ClosedBy;
}

/** How the worker ended (the child's `exit`, or what an adopting master learnt). */
export interface WorkerEnd {
  exitCode: number | null;
  exitSignal: string | null;
}

/** The end of a worker this master is not the parent of (adopted): exit status unknown. */
export const UNKNOWN_EXIT: WorkerEnd = { exitCode: null, exitSignal: null };

export interface LifecycleEvents {
  connected: [client: ClientConnected];
  /** A client of the previous master (hot upgrade): presence lists it; no hook, no frame. */
  adopted: [client: ClientConnected];
  ended: [client: ClientEnded];
}

/** Close code when no close frame was sent or received (RFC 6455 §7.1.5). */
const NO_CLOSE_FRAME = 1006;

/**
 * The one place a client's start and end are told (presence, lifecycle hooks, join and
 * leave frames listen here). Each is emitted exactly once per client:
 *
 * - `connected`, when its worker is assigned the client (`connected`, from the pool);
 * - `ended`, when its worker has been reaped (`reaped`: the child's exit code or signal,
 *   taken after the IPC channel is drained, so the worker's `closed` goodbye, if it sent
 *   one, has been seen through `goodbye`). A worker killed by SIGKILL (or the kernel's
 *   OOM killer) sends no goodbye: the close code is then 1006 and the side 'server'.
 *
 * The hot upgrade's adopting master does not reap its adopted workers (they are not its
 * children): it calls `adopted` for each, then `ended` with the facts it learnt (the
 * old master's goodbye, the exit it saw): the same event, once. A client id told twice,
 * or never connected, is ignored: no event is ever duplicated. The table holds only
 * clients connected now.
 */
export class ClientLifecycle extends EventEmitter<LifecycleEvents> {
  private readonly live = new Map<number, ClientConnected>();
  private readonly goodbyes = new Map<number, Goodbye>();
  /** Ends held since a hot upgrade's hand-over (`handOver`). */
  private held: ClientEnded[] | undefined;

  constructor(
    /** This instance's id (the prefix of global client ids). */
    private readonly instanceId: () => string,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  /** This instance's id. */
  get instance(): string {
    return this.instanceId();
  }

  /** Clients connected now (presence of this instance). */
  clients(): IterableIterator<ClientConnected> {
    return this.live.values();
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * Resolves once no client is left (every end told), or after `boundMs`: at shutdown,
   * so that the last clients' disconnect hooks are queued before the hooks are drained.
   */
  whenEmpty(boundMs: number): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('ended', check);
        resolve();
      };
      const check = (): void => {
        if (this.live.size === 0) done();
      };
      const timer = setTimeout(done, boundMs);
      this.on('ended', check);
    });
  }

  /** A client's facts as events carry them (`address`: when a proxy named it, else from remote). */
  factsOf(client: ClientInfo, address = addressOf(client.remote)): ClientConnected {
    const facts: ClientConnected = {
      id: client.id,
      globalId: `${this.instanceId()}-${client.id}`,
      channel: client.channel,
      remote: client.remote,
      address,
      transport: client.transport ?? 'websocket',
      presence: client.presence === true,
      since: client.since,
    };
    if (client.user !== undefined) facts.user = client.user;
    return facts;
  }

  /** A worker was assigned its client. */
  connected(client: ClientInfo): void {
    if (this.live.has(client.id)) return;
    const facts = this.factsOf(client);
    this.live.set(client.id, facts);
    this.emit('connected', facts);
  }

  /**
   * Hot upgrade, old master: its state is handed over, and with it the telling of its
   * clients' ends (the new master tells each once: adopted, drained or given up). Ends
   * that come meanwhile (its children reaped before it exits) are held, not told: told
   * twice, a disconnect hook would run twice. `resume` tells them if the hand-over fails.
   */
  handOver(): void {
    this.held ??= [];
  }

  /** The hand-over failed: this master tells its clients' ends again, those held first. */
  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const client of held) this.emit('ended', client);
  }

  /**
   * An adopted client (hot upgrade): known from now on, without a `connected` event (it
   * connected to the previous master, whose hooks and join frames ran then), but with
   * `adopted` (the presence table of this master lists it). Its `ended` comes once.
   */
  adopted(client: ClientConnected): void {
    if (this.live.has(client.id)) return;
    this.live.set(client.id, client);
    this.emit('adopted', client);
  }

  /** The worker's last word about its connection (IPC `closed`). */
  goodbye(id: number, goodbye: Goodbye): void {
    if (this.live.has(id)) this.goodbyes.set(id, goodbye);
  }

  /** The worker of client `id` was reaped (after its IPC channel drained, see last-words.ts). */
  reaped(id: number, end: WorkerEnd): void {
    this.ended(id, end, this.goodbyes.get(id));
  }

  /**
   * The client's end (the entry point of the hot upgrade's adopted workers, too):
   * emitted once; later calls for the same id do nothing.
   */
  ended(id: number, end: WorkerEnd, goodbye?: Goodbye): void {
    const client = this.live.get(id);
    this.goodbyes.delete(id);
    if (client === undefined) return;
    this.live.delete(id);
    const ended: ClientEnded = {
      ...client,
      durationMs: Math.max(0, this.now() - client.since.getTime()),
      closeCode: goodbye?.code ?? NO_CLOSE_FRAME,
      closedBy: goodbye?.side ?? 'server',
      exitCode: end.exitCode,
      exitSignal: end.exitSignal,
    };
    if (this.held !== undefined) this.held.push(ended);
    else this.emit('ended', ended);
  }
}

/**
 * The address part of a remote as logs show it: "1.2.3.4:5678" and "[::1]:5678" carry a
 * port; a bare IPv6 address ("2001:db8::1", named by a proxy) or IPv4 one does not.
 */
export function addressOf(remote: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(remote);
  if (bracketed !== null) return bracketed[1];
  const colons = remote.split(':').length - 1;
  if (colons === 1) return remote.slice(0, remote.indexOf(':'));
  return remote;
}
