import net from 'node:net';
import {
  CONTROL_VERSION,
  recordPayload,
  type AdoptRequest,
  type ControlMessage,
  type HandoverMessage,
} from '../src/shared/control-channel';
import { equalJitterDelay, type BackoffOptions } from '../src/shared/exponential-backoff';
import type { ClientHandoff, MasterMessage, WorkerMessage } from '../src/shared/ipc';
import { FrameSplitter } from '../src/shared/publish-stream';

/**
 * How long a worker told of a hand-over keeps trying to be adopted before it gives up.
 * Generous: on a loaded machine a thousand workers re-attach at once, and the new master
 * takes them one by one (issue 23: at 10 s, 918 of 1,000 gave up under load 300; the new
 * master took 40 s for them all there). Waiting longer harms no one: what is published
 * meanwhile is held for it, and a new master that dies closes the socket at once.
 */
export const ADOPT_TIMEOUT_MS = 120_000;
/** The pauses between connection attempts: from 20 ms, doubling, at most 1 s (jittered). */
const RETRY_BACKOFF: BackoffOptions = { baseMs: 20, maxMs: 1000 };

/**
 * Connection errors worth another attempt: the control socket's backlog is full (a Unix
 * socket answers EAGAIN, not a wait, when a thousand workers connect at once), or the
 * socket is not there (yet, or any more: the deadline ends the tries).
 */
const RETRYABLE = new Set(['EAGAIN', 'ECONNREFUSED', 'ENOENT']);

/** What a worker knows of its client, for a new master. */
export interface ServedFacts {
  handoff: ClientHandoff;
  /** When the hand-off came (ms since the epoch). */
  since: number;
  pushed: number;
  frames: number;
  /** Its --exec command's pid, if it runs one. */
  command: number | undefined;
}

/** The worker's first line to a new master: who it is and whom it serves. */
export function adoptRequestOf(facts: ServedFacts): AdoptRequest {
  const { handoff } = facts;
  const client: AdoptRequest['client'] = {
    id: handoff.id,
    channel: handoff.channel,
    format: handoff.format,
    remote: handoff.remote,
    address: handoff.request.remoteAddress,
    since: facts.since,
  };
  if (handoff.user !== undefined) client.user = handoff.user;
  if (handoff.position !== undefined) client.position = handoff.position;
  const request: AdoptRequest = {
    type: 'adopt',
    version: CONTROL_VERSION,
    pid: process.pid,
    client,
    pushed: facts.pushed,
    frames: facts.frames,
  };
  if (facts.command !== undefined) request.command = facts.command;
  return request;
}

/** What the link needs from the worker. */
export interface LinkHandlers {
  /** A message from the master (over IPC, or a worker record on the control socket). */
  onMessage(message: MasterMessage): void;
  /** No master is left (the one serving it is gone, and no hand-over took): exit. */
  onGone(): void;
  /** Published frames read off the control socket (the publish pipe's consumer). */
  deliver(frames: Buffer, count: number): void;
  /** Who this worker is, for a new master; undefined while it serves no client. */
  adoptRequest(): AdoptRequest | undefined;
  /** Adopted by the master of pid `master`. */
  onAdopted(master: number): void;
  log(level: 'warn' | 'info', message: string): void;
}

/**
 * The worker's line to its master: fork IPC from the master that forked it, and after a
 * hot upgrade the control socket of the master that adopted it (docs/upgrade.md). A
 * hand-over connects to the new master while the old link stays up; the old link is
 * dropped only once the new master says `adopted`. A worker whose master goes with no
 * hand-over under way, or whose hand-over fails with no master left, exits (no orphans).
 */
export class MasterLink {
  /** The control socket of the master that adopted this worker (none: fork IPC). */
  private socket: net.Socket | undefined;
  /** A hand-over under way, not yet confirmed by the new master. */
  private pending: { master: number } | undefined;
  private ipcGone = false;

  constructor(private readonly handlers: LinkHandlers) {}

  /** A message for the master, on whichever link is current. */
  tell(message: WorkerMessage): void {
    if (this.socket !== undefined) {
      this.socket.write(`${JSON.stringify(message)}\n`);
    } else if (process.connected) {
      process.send?.(message);
    }
  }

  /** Sends a last message and exits once it is written (bounded: the master may be gone). */
  tellThenExit(message: WorkerMessage): void {
    setTimeout(() => process.exit(0), 1000).unref();
    if (this.socket !== undefined && !this.socket.destroyed) {
      this.socket.write(`${JSON.stringify(message)}\n`, () => process.exit(0));
    } else if (process.connected) {
      process.send?.(message, () => process.exit(0));
    } else {
      process.exit(0);
    }
  }

  /** The fork IPC channel closed: the forking master is gone (or this worker left it). */
  ipcDisconnected(): void {
    this.ipcGone = true;
    if (this.socket === undefined && this.pending === undefined) this.handlers.onGone();
  }

  /**
   * Re-attaches to a new master (one hand-over at a time): connects to its control
   * socket and sends the adopt request; a connection refused, full or closed before the
   * master said anything is tried again, with growing pauses, until ADOPT_TIMEOUT_MS.
   */
  handover(message: HandoverMessage): void {
    const request = this.handlers.adoptRequest();
    if (request === undefined || this.pending !== undefined) return;
    const handover = { master: message.master };
    this.pending = handover;
    const deadline = Date.now() + ADOPT_TIMEOUT_MS;
    let tries = 0;
    let current: net.Socket | undefined;
    const giveUp = (why: string): void => {
      clearTimeout(timer);
      current?.destroy();
      if (this.pending !== handover) return;
      this.pending = undefined;
      if (this.linked()) {
        this.handlers.log('warn', `not adopted by master ${message.master} (${why}): staying`);
      } else {
        this.handlers.onGone();
      }
    };
    const timer = setTimeout(() => giveUp('no answer'), ADOPT_TIMEOUT_MS);
    timer.unref();
    const attempt = (): void => {
      if (this.pending !== handover) return;
      const socket = net.connect(message.path);
      current = socket;
      let heard = false;
      let adopted = false;
      let ended = false;
      const again = (why: string): void => {
        if (ended) return;
        ended = true;
        socket.destroy();
        if (this.pending !== handover) return;
        const pause = equalJitterDelay(++tries, RETRY_BACKOFF);
        if (Date.now() + pause >= deadline) return giveUp(why);
        setTimeout(attempt, pause);
      };
      const splitter = new FrameSplitter(
        (frames, count) => this.handlers.deliver(frames, count),
        (record) => {
          heard = true;
          const payload = recordPayload(record);
          if (payload === undefined) return;
          const control = JSON.parse(payload.toString('utf8')) as ControlMessage;
          if (control.type === 'adopted') {
            adopted = true;
            clearTimeout(timer);
            this.adopt(socket, control.master);
          } else {
            this.handlers.onMessage(control);
          }
        },
      );
      socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
      socket.on('data', (chunk: Buffer) => splitter.push(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (adopted || heard) return;
        const code = error.code ?? error.message;
        if (RETRYABLE.has(code)) again(code);
        else giveUp(code);
      });
      socket.on('close', () => {
        // Closed before a word from the master (its hello bound, a restart of the
        // socket): try again. After a word (`disconnect`: a drain), the worker is ending.
        if (!adopted) return heard ? giveUp('closed') : again('closed');
        if (this.socket !== socket) return; // an older master's, dropped after a newer took over
        this.socket = undefined;
        // This master is gone: a newer one may be taking over (pending), else none is left.
        if (this.pending === undefined) this.handlers.onGone();
      });
    };
    attempt();
  }

  /** Whether an old link is still up. */
  private linked(): boolean {
    return this.socket !== undefined ? !this.socket.destroyed : !this.ipcGone && process.connected;
  }

  private adopt(socket: net.Socket, master: number): void {
    const previous = this.socket;
    this.socket = socket;
    this.pending = undefined;
    if (previous !== undefined) previous.destroy();
    else if (process.connected) process.disconnect(); // the forking master keeps no hold
    this.handlers.onAdopted(master);
  }
}
