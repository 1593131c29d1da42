import type { StreamPosition } from '../../shared/ipc';
import type { RememberedKey } from '../broker/idempotency';
import type { ChannelHistoryState } from '../broker/memory-history';
import type { FeedFormat } from '../channels/published-frames';

/** A client of the old master, as the new one expects its worker (docs/upgrade.md). */
export interface HandedClient {
  id: number;
  pid: number;
  channel: string;
  /** How its publications are framed: text, JSON (?format=json) or SSE events. */
  format: FeedFormat;
  remote: string;
  user?: string;
  /** Connected at (ms since the epoch). */
  since: number;
  /** Absent: websocket. */
  transport?: 'websocket' | 'sse';
  /** It asked for join/leave frames (?presence=1). */
  presence?: boolean;
}

/**
 * What a hot upgrade's old master hands the new one (over their fork IPC, as JSON),
 * once it has stopped accepting and delivering.
 */
export interface MasterState {
  /** The next client id: none is given twice. */
  nextClientId: number;
  /** Where each channel stood (the last offset the old master delivered). */
  positions: [string, StreamPosition][];
  clients: HandedClient[];
  /** The in-memory broker's epochs, offsets and history (absent with --redis). */
  memory?: ChannelHistoryState[];
  /**
   * The in-memory broker's idempotency keys (absent with --redis: they live in Redis),
   * so that a retry after the upgrade is answered as the duplicate it is.
   */
  idempotency?: RememberedKey[];
  /**
   * A `pipes` message follows the state (handed-pipe.ts): the new master says `listening`
   * only once it has it, so that no worker re-attaches before its pipe is in use. Absent
   * from an old master that passes no pipe.
   */
  pipes?: true;
}

/** Messages between the old master (O) and the new one (N) it forked, over fork IPC. */
export type UpgradeMessage =
  /** N → O: loaded, its control socket listening: O may hand over. */
  | {
      type: 'ready';
      control: string;
      /**
       * N takes publish pipes (handed-pipe.ts). A build without them never sets it: O
       * passes it none (it would hold each as a socket it never reads, with no 'error'
       * listener: a worker's reset would end it).
       */
      pipes?: true;
    }
  /** O → N: the state; O has stopped accepting. */
  | { type: 'state'; state: MasterState }
  /**
   * O → N, after `ready` and before the state, with a handle: the write end of client
   * `client`'s publish pipe (handed-pipe.ts). N holds it, writing nothing, until `pipes`.
   */
  | { type: 'pipe'; client: number }
  /** O → N, after the state: the clients whose pipes O has finished writing to. */
  | { type: 'pipes'; clients: number[] }
  /**
   * N → O: listening on the inherited socket (and holding every pipe passed): O tells
   * its workers to re-attach.
   */
  | { type: 'listening' }
  /** N → O: these workers have re-attached (or were drained): O tells the next ones. */
  | { type: 'reattached'; pids: number[] }
  /** N → O: workers adopted (or given up): O may exit. */
  | { type: 'adopted'; adopted: number; missing: number };

/** The environment variable that tells a master it is a hot upgrade's new one. */
export const UPGRADE_ENV = 'PUSH_WEBSOCKET_UPGRADE';

/** What that variable holds (JSON). */
export interface UpgradeEnv {
  /** The inherited listening socket's descriptor. */
  fd: number;
  /** The old master's broker instance id (global client ids stay valid). */
  instanceId: string;
  /** The old master's pid. */
  from: number;
}
