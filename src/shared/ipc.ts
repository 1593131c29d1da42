/**
 * The messages master and worker exchange over the fork IPC channel (JSON
 * serialization: bytes travel as base64). One place for both sides' shapes. Published
 * messages travel apart, on the publish pipe (src/shared/publish-stream.ts).
 */
import type { LimitName } from './command-sandbox';

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
  /**
   * With --dir: the script this client runs (its real path), chosen by the master from
   * the URL path. Absent otherwise (the worker runs --exec, if any).
   */
  command?: string[];
  /** The client's channel (its URL path, normalised). */
  channel: string;
  /** How its frames are written: plain text, or JSON objects (?format=json). */
  format: FrameFormat;
  /** Where the client stands in its channel's stream (JSON clients). */
  position?: StreamPosition;
  /** For a client that came back with ?since=&epoch=: what recovery found. */
  recovery?: RecoveryNotice;
  /**
   * The verified user id (a token's `sub`, or the user --auth-url answered); absent for
   * an anonymous client. Shown in /status, log lines, and a command's REMOTE_USER.
   */
  user?: string;
  /**
   * The verified claims (a token's payload, or --auth-url's answer), never the token
   * itself: a command's PUSH_WS_CLAIMS, as JSON.
   */
  claims?: Record<string, unknown>;
  /**
   * When the client's admission ends (ms since the epoch: the token's `exp` plus the
   * leeway, or --auth-url's `expire_at`): the worker then closes it with 4001.
   */
  expiresAt?: number;
  /**
   * How the client is served: a WebSocket (absent, or 'websocket'), or a Server-Sent
   * Events stream ('sse': the worker writes the HTTP response head, then events).
   */
  transport?: Transport;
  /** SSE: headers the master adds to the response head (CORS, --header, --header-http). */
  responseHeaders?: [string, string][];
}

export type Transport = 'websocket' | 'sse';

/** The last offset a client has of its channel, in the channel's epoch. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

export type FrameFormat = 'text' | 'json';

/** The first JSON frame of a returning client. */
export interface RecoveryNotice {
  recovered: boolean;
  /** Publications recovered (they follow, before any live one). */
  count: number;
  /** Why not, when not recovered. */
  reason?: string;
}

export interface RequestFacts {
  /** The client's address (as a trusted proxy named it, with --trust-proxy). */
  remoteAddress: string;
  /** Undefined when a proxy named the client (the port seen is the proxy's). */
  remotePort: number | undefined;
  /** Whether the client came over TLS (a trusted proxy's X-Forwarded-Proto): HTTPS=on. */
  https?: boolean;
  serverPort: number;
  /** Path and query, as requested. */
  url: string;
  /* The rest is for an --exec command's CGI environment (see workers/cgi-environment.ts). */
  /** "GET". */
  method: string;
  /** "1.1", as Node's `req.httpVersion`. */
  httpVersion: string;
  /**
   * Every request header as sent, in arrival order: [name, value] pairs, names in their
   * own case (Node's `req.rawHeaders`, paired up). Repeated headers stay separate.
   */
  headers: [string, string][];
  /** The address the server listens on: SERVER_NAME when the request has no Host. */
  serverName: string;
  /** With --dir: the script's URL path ("/name"); the rest of the path is pathInfo. */
  scriptName?: string;
  /** With --dir: the decoded path past the script ("/rest"), "" when none. */
  pathInfo?: string;
  /** With --reverse-lookup: the client's host name (else REMOTE_HOST is its address). */
  remoteHost?: string;
}

export type MasterMessage =
  | ClientHandoff
  /** Server shutdown: close the client with 1001 and exit. */
  | { type: 'shutdown' }
  /**
   * POST /disconnect: close the client with this code and reason (4002 "disconnected")
   * and exit. They travel in the message so that an idle worker loads no more modules.
   */
  | { type: 'disconnect'; code: number; reason: string }
  /** Asks for a stats report (for GET /status). */
  | { type: 'report' }
  /**
   * A hot upgrade (docs/upgrade.md): re-attach to the new master on its control socket
   * `path` (src/shared/control-channel.ts); `master` is its pid.
   */
  | { type: 'handover'; path: string; master: number };

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
  | ({ type: 'report'; pushed: number; frames: number } & FirstPushTime)
  /**
   * Sent by workers of earlier builds (adopted after a hot upgrade) right after their
   * client's first frame; workers now carry its time in `report` and `closed` instead.
   */
  | { type: 'first-push' }
  /**
   * Sent once, just before the worker exits: how its client's connection ended. `code` is
   * the close code of the first close frame (undefined: none was sent or received, 1006);
   * `side` who sent it first (for a drop without any close frame: the client).
   */
  | ({
      type: 'closed';
      code: number | undefined;
      side: 'client' | 'server';
      frames: number;
    } & FirstPushTime)
  /** The --exec command's pid: the master ends its process group if the worker dies. */
  | { type: 'command'; pid: number }
  /**
   * A sandbox limit ended the client's command (the client is closed with 4005): which
   * one, and how it was seen (a signal, the process count), for one log line and a count.
   */
  | { type: 'limit'; limit: LimitName; detail: string };

/**
 * When the client's first frame went out (ms since the epoch, the worker's clock: the
 * master's on the same machine), in the first `report` or `closed` after it and in no
 * other. Not a message of its own: at a first broadcast every worker would send one in
 * the middle of the fan-out, for the master to read while it should be writing.
 */
export interface FirstPushTime {
  firstPushAt?: number;
}
