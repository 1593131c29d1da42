/**
 * The messages master and worker exchange over the fork IPC channel (JSON
 * serialization: bytes travel as base64). One place for both sides' shapes.
 */

/** What the master hands a worker together with the client's socket. */
export interface ClientHandoff {
  type: 'client';
  id: number;
  /** "address:port" of the client, as shown in logs and titles. */
  remote: string;
  /** Bytes the master read past the request headers (base64): the first frames. */
  head: string;
}

export type MasterMessage =
  | ClientHandoff
  /** Server shutdown: close the client with 1001 and exit. */
  | { type: 'shutdown' }
  /** Asks for a stats report (for GET /status). */
  | { type: 'report' };

export type WorkerMessage =
  /** Loaded and waiting for a client. */
  | { type: 'ready' }
  /** The client asked to end (text "quit" or "exit"): the master kills the worker. */
  | { type: 'quit'; text: string }
  /** A line for the master's log, about this worker's client. */
  | { type: 'log'; level: 'error' | 'warn' | 'info' | 'debug'; message: string }
  | { type: 'report'; pushed: number };
