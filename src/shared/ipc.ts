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
  /** Facts of the connection, for an --exec command's environment (as CGI has them). */
  request: RequestFacts;
}

export interface RequestFacts {
  /** The client's address (as a trusted proxy named it, with --trust-proxy). */
  remoteAddress: string;
  /** Undefined when a proxy named the client (the port seen is the proxy's). */
  remotePort: number | undefined;
  /** Whether the client came over TLS (a trusted proxy's X-Forwarded-Proto). */
  https: boolean;
  serverPort: number;
  /** Path and query, as requested. */
  url: string;
  origin: string;
  userAgent: string;
}

export type MasterMessage =
  | ClientHandoff
  /** Server shutdown: close the client with 1001 and exit. */
  | { type: 'shutdown' }
  /** Asks for a stats report (for GET /status). */
  | { type: 'report' }
  /** POST /publish: a text message for this worker's client. */
  | { type: 'publish'; data: string };

export type WorkerMessage =
  /** Loaded and waiting for a client. */
  | { type: 'ready' }
  /** The client asked to end (text "quit" or "exit"): the master kills the worker. */
  | { type: 'quit'; text: string }
  /** A line for the master's log, about this worker's client. */
  | { type: 'log'; level: 'error' | 'warn' | 'info' | 'debug'; message: string }
  /**
   * The answer to `report` (GET /status, GET /metrics): pushes made, and data frames
   * sent, so far. The master learns frame counts in these rounds, never per frame.
   */
  | { type: 'report'; pushed: number; frames: number }
  /** Sent once, right after the client's first frame (the master times it from the 101). */
  | { type: 'first-push' }
  /**
   * Sent once, just before the worker exits: how its client's connection ended. `code` is
   * the close code of the first close frame (undefined: none was sent or received, 1006);
   * `side` who sent it first (for a drop without any close frame: the client).
   */
  | { type: 'closed'; code: number | undefined; side: 'client' | 'server'; frames: number }
  /** The --exec command's pid: the master ends its process group if the worker dies. */
  | { type: 'command'; pid: number };
