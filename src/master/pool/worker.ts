import type { ChildProcess } from 'node:child_process';
import type { MasterMessage } from '../../shared/ipc';
import { PUBLISH_FD } from '../../shared/publish-stream';
import { MAX_IN_FLIGHT, PipeWriter } from './pipe-writer';

/**
 * A worker's life, in one place. A worker serves one client and is never reused:
 *
 *   starting ──ready──► idle ──reserve──► reserved ──assign──► serving ──► exiting ──► exited
 *      │                 ▲  │                │  │                               ▲
 *      │                 └──┼── release ─────┘  │                               │
 *      └─────────────────── ┴───────────────────┴── (killed, failed, shutdown) ─┘
 *
 * `exiting` means the master has asked it to go (SIGTERM, shutdown, a failed start);
 * `exited` that its process is gone. Any state may end in `exited`.
 */
export enum WorkerState {
  Starting = 'starting',
  Idle = 'idle',
  Reserved = 'reserved',
  Serving = 'serving',
  Exiting = 'exiting',
  Exited = 'exited',
}

const ALLOWED: Record<WorkerState, readonly WorkerState[]> = {
  [WorkerState.Starting]: [WorkerState.Idle, WorkerState.Exiting, WorkerState.Exited],
  [WorkerState.Idle]: [WorkerState.Reserved, WorkerState.Exiting, WorkerState.Exited],
  [WorkerState.Reserved]: [
    WorkerState.Idle,
    WorkerState.Serving,
    WorkerState.Exiting,
    WorkerState.Exited,
  ],
  [WorkerState.Serving]: [WorkerState.Exiting, WorkerState.Exited],
  [WorkerState.Exiting]: [WorkerState.Exited],
  [WorkerState.Exited]: [],
};

export class TransitionError extends Error {}

/** Who a serving worker's client is (the master's facts about it). */
export interface ClientInfo {
  id: number;
  remote: string;
  /** Its channel (its URL path, normalised). */
  channel: string;
  since: Date;
  /** The verified user id, when it connected with one (a token, --auth-url). */
  user?: string;
  /** How it is served: a WebSocket (absent), or a Server-Sent Events stream. */
  transport?: 'websocket' | 'sse';
  /** It asked for join/leave frames of its channel (?presence=1, JSON clients). */
  presence?: boolean;
}

/** The keys of a log line about a worker's client (see logger.ts, ClientMeta). */
export interface WorkerMeta {
  client: number | undefined;
  pid: number;
  user?: string;
}

export { MAX_IN_FLIGHT };

/** The keys of a log line about client `client` served by process `pid`. */
export function workerMeta(client: number | undefined, pid: number, user?: string): WorkerMeta {
  return user === undefined ? { client, pid } : { client, pid, user };
}

/**
 * One worker process and its state. Only the pool moves it between states
 * (`moveTo`); everyone else reads.
 */
export class Worker {
  private current = WorkerState.Starting;
  private clientInfo: ClientInfo | undefined;
  /** IPC messages sent and not yet written to the channel. */
  private inFlight = 0;
  /** Where published frames go (src/shared/publish-stream.ts); none in a stand-in process. */
  private readonly publishPipe: PipeWriter | undefined;
  readonly forkedAt = Date.now();

  constructor(readonly process: ChildProcess) {
    const pipe = process.stdio?.[PUBLISH_FD];
    if (pipe !== null && pipe !== undefined && 'write' in pipe) {
      this.publishPipe = new PipeWriter(pipe);
    }
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get state(): WorkerState {
    return this.current;
  }

  /** Its client, once it serves one (kept after it exits, for the last log lines). */
  get client(): ClientInfo | undefined {
    return this.clientInfo;
  }

  /** The keys of a log line about this worker and its client: `#ID`, `pid`, `user`. */
  get meta(): WorkerMeta {
    return workerMeta(this.clientInfo?.id, this.pid, this.clientInfo?.user);
  }

  /** Whether it has been ready at some point (a failed start never was). */
  get wasReady(): boolean {
    return this.readyOnce;
  }

  private readyOnce = false;

  /** For the pool only. Throws on a move the diagram above does not allow. */
  moveTo(next: WorkerState, client?: ClientInfo): void {
    if (!ALLOWED[this.current].includes(next)) {
      throw new TransitionError(`worker ${this.pid}: ${this.current} -> ${next} is not allowed`);
    }
    if (next === WorkerState.Idle) this.readyOnce = true;
    if (next === WorkerState.Serving) this.clientInfo = client;
    this.current = next;
  }

  /** Sends an IPC message if the channel is still open; false when it is not. */
  send(message: MasterMessage): boolean {
    if (!this.process.connected) return false;
    this.inFlight++;
    this.process.send(message, () => this.inFlight--);
    return true;
  }

  /**
   * Sends unless the worker has not taken the last MAX_IN_FLIGHT messages off its
   * channel: such a worker is stuck and gets no more (the message is dropped).
   */
  sendBounded(message: MasterMessage): boolean {
    if (this.inFlight >= MAX_IN_FLIGHT) return false;
    return this.send(message);
  }

  /**
   * Writes published frames, ready for its client's socket, on the worker's publish
   * pipe, unless the worker is gone or has not taken the last MAX_IN_FLIGHT writes off
   * the pipe: such a worker is stuck and gets no more (false: dropped).
   */
  publish(frames: Buffer): boolean {
    if (this.publishPipe === undefined || !this.process.connected) return false;
    return this.publishPipe.write(frames);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.current === WorkerState.Exited) return;
    try {
      this.process.kill(signal);
    } catch {
      // already gone: its exit event is on its way
    }
  }
}
