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
  /** MB of RSS a worker may use before it closes its client (0: no limit). */
  workerMemoryLimit: number;
  /** --redis: the backplane's URL (may hold a password: never logged); undefined: in memory. */
  redis: string | undefined;
  /** Publications kept per channel for recovery (0: no history). */
  history: number;
  /** Seconds a publication stays in history. */
  historyTtl: number;
  /** --channel-exec CHANNEL=COMMAND: one command per channel, run by the master. */
  channelExec: ChannelCommand[];
}

/** A channel fed by one command's stdout lines. */
export interface ChannelCommand {
  channel: string;
  argv: string[];
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
  /** MB of RSS this worker may use (0: no limit). */
  memoryLimitMb: number;
  /** Variables an --exec command gets that its worker does not have (see worker-process.ts). */
  commandEnv?: Record<string, string>;
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
    memoryLimitMb: config.workerMemoryLimit,
    commandEnv: commandOnlyEnvironment(config),
  };
}

/**
 * Variables kept from workers but given to their --exec commands. NODE_EXTRA_CA_CERTS
 * makes every Node start parse that CA file (most of a bare start's CPU on machines
 * that set it); a worker does no TLS, but a command may.
 */
function commandOnlyEnvironment(config: ServerConfig): Record<string, string> | undefined {
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  return config.exec !== undefined && extra !== undefined
    ? { NODE_EXTRA_CA_CERTS: extra }
    : undefined;
}
