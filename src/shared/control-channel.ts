/**
 * The control channel of a hot upgrade (docs/upgrade.md): a Unix socket the new master
 * listens on, to which each running worker re-attaches. Shared by both sides; pure.
 *
 * Worker → master: one JSON object a line. The first is the worker's `AdoptRequest`;
 * then the same WorkerMessages it sent over fork IPC.
 * Master → worker: the very byte stream of the publish pipe (src/shared/publish-stream.ts):
 * whole WebSocket frames for the client, and records for the worker alone (first byte
 * 0). A worker record with a payload carries one MasterMessage (JSON, UTF-8); an empty
 * one is the wake record. So a worker's code that consumes published frames is the same
 * on both paths (FrameSplitter, then its PublishSource).
 */
import type { FrameFormat, MasterMessage, StreamPosition, WorkerMessage } from './ipc';
import { Opcode } from './protocol/constants';
import { encodeFrame } from './protocol/frame';

/**
 * The control protocol's version, sent by the worker in its AdoptRequest. Bump it when a
 * message changes shape. Every version understands `adopted`, `disconnect` (close with
 * a code and exit) and `shutdown`: a master drains a worker too old to adopt with
 * `disconnect` 1012, whatever its version.
 */
export const CONTROL_VERSION = 1;
/** The oldest worker version a master adopts. */
export const MIN_CONTROL_VERSION = 1;

/** What the old master tells each serving worker (over IPC or its control socket). */
export type HandoverMessage = Extract<MasterMessage, { type: 'handover' }>;

/** A worker's first line on the control socket: who it is and whom it serves. */
export interface AdoptRequest {
  type: 'adopt';
  version: number;
  pid: number;
  client: {
    id: number;
    channel: string;
    format: FrameFormat;
    /** "address:port", as in logs and titles. */
    remote: string;
    /** The client's address alone (the --max-clients-per-ip key). */
    address: string;
    user?: string;
    /** Its position at connect time (JSON clients); the channel's live one is the master's. */
    position?: StreamPosition;
    /** When its hand-off reached the worker (ms since the epoch). */
    since: number;
  };
  pushed: number;
  frames: number;
  /** Its --exec command's pid (process group), if it runs one. */
  command?: number;
}

/** Master → worker on the control socket (inside worker records). */
export type ControlMessage =
  | MasterMessage
  /** The new master has taken the worker on: it may drop its old link. */
  | { type: 'adopted'; master: number };

/** Worker → master on the control socket. */
export type ControlLine = AdoptRequest | WorkerMessage;

/** A worker record carrying `message` (header as a WebSocket frame's, first byte 0). */
export function controlRecord(message: ControlMessage): Buffer {
  // A continuation frame without FIN: its first byte is 0, which the master never sends.
  const payload = Buffer.from(JSON.stringify(message), 'utf8');
  return encodeFrame(Opcode.Continuation, payload, { fin: false });
}

/** The payload of a worker record, or undefined for the wake record (no payload). */
export function recordPayload(record: Buffer): Buffer | undefined {
  const short = record[1] & 0x7f;
  const start = short < 126 ? 2 : short === 126 ? 4 : 10;
  return record.length > start ? record.subarray(start) : undefined;
}

/** Whether a worker of control protocol `version` can be adopted; otherwise it is drained. */
export function adoptsVersion(version: number): boolean {
  return version >= MIN_CONTROL_VERSION && version <= CONTROL_VERSION;
}

/** Why a first line is no adopt request at all (the connection is closed), or undefined. */
export function adoptProblem(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return 'not an object';
  const r = request as Partial<AdoptRequest>;
  if (r.type !== 'adopt') return 'first line is not an adopt request';
  if (typeof r.version !== 'number') return 'no version';
  if (typeof r.pid !== 'number' || !Number.isSafeInteger(r.pid) || r.pid <= 0) return 'bad pid';
  const client = r.client;
  if (client === undefined || typeof client.id !== 'number' || typeof client.channel !== 'string') {
    return 'bad client';
  }
  return undefined;
}
