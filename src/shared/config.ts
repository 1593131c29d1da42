/**
 * The server's settings, as the command line fixes them (see src/cli.ts), and the
 * part of them a worker needs. Types only: the worker imports this file, so it must
 * stay free of yargs, winston and the master's code.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';

export interface ServerConfig {
  host: string;
  port: number;
  maxClients: number;
  intervalMin: number;
  intervalMax: number;
  spareWorkers: number;
  origins: string[];
  maxMessageSize: number;
  handshakeTimeout: number;
  pingInterval: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** --exec split into words: a command per client; undefined for none. */
  exec: string[] | undefined;
  /** The original's hello and demo pushes (off with --no-demo, and with --exec). */
  demo: boolean;
  /** Bearer token for POST /publish; undefined turns the endpoint off. */
  publishToken: string | undefined;
  /** High-water mark of a client's send buffer, in bytes. */
  maxBuffered: number;
  /** Bearer token for GET /status and /metrics; undefined leaves them open. Never sent to workers. */
  adminToken: string | undefined;
  /** --trust-proxy entries (addresses and CIDR blocks, canonical): whose X-Forwarded-For is believed. */
  trustProxy: string[];
}

/** Handed to each worker at fork time (in the environment, never in argv: `ps` shows argv). */
export interface WorkerConfig {
  intervalMin: number;
  intervalMax: number;
  maxMessageSize: number;
  pingInterval: number;
  exec: string[] | undefined;
  demo: boolean;
  maxBuffered: number;
  /** Whether the worker should report per-push debug lines to the master. */
  debug: boolean;
}

export const WORKER_CONFIG_ENV = 'PUSH_WS_WORKER_CONFIG';

export function workerConfigOf(config: ServerConfig): WorkerConfig {
  return {
    intervalMin: config.intervalMin,
    intervalMax: config.intervalMax,
    maxMessageSize: config.maxMessageSize,
    pingInterval: config.pingInterval,
    exec: config.exec,
    demo: config.demo && config.exec === undefined,
    maxBuffered: config.maxBuffered,
    debug: config.logLevel === 'debug',
  };
}
