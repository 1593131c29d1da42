/**
 * The server's settings, as the command line fixes them (see src/master/cli/cli.ts), and the
 * part of them a worker needs. Types only: the worker imports this file, so it must
 * stay free of yargs, winston and the master's code.
 */
import type { CommandSandbox, SandboxSettings } from './command-sandbox';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';

export interface ServerConfig {
  host: string;
  port: number;
  maxClients: number;
  intervalMin: number;
  intervalMax: number;
  /** --spare-workers: idle workers kept ready (N, or the MIN of MIN:MAX). */
  spareWorkers: number;
  /** The MAX of --spare-workers MIN:MAX, to which the idle target may grow (N for N alone). */
  spareWorkersMax: number;
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
  /** --idempotency-window: seconds a POST /publish Idempotency-Key is remembered (0: off). */
  idempotencyWindow: number;
  /** --channel-exec CHANNEL=COMMAND: one command per channel, run by the master. */
  channelExec: ChannelCommand[];
  /** --max-clients-per-ip: clients one address (an IPv6 /64) may hold; 0: no limit. */
  maxClientsPerIp: number;
  /** --connect-rate RATE[:BURST]: handshakes a second per address (a token bucket); undefined: off. */
  connectRate: { rate: number; burst: number } | undefined;
  /*
   * websocketd parity (docs/websocketd.md).
   */
  /** --passenv: server variables a command may see (names, or "PREFIX*" patterns). */
  passenv: string[];
  /** --quit-words: client messages that end the client (none by default with a command). */
  quitWords: string[];
  /** --dir: the real path of a directory of scripts, one per URL path; undefined for none. */
  dir: string | undefined;
  /** --staticdir: the real path of a directory served over plain HTTP; undefined for none. */
  staticDir: string | undefined;
  /** --binary: raw bytes both ways between the client and its command. */
  binary: boolean;
  /** --same-origin: the Origin's host and port must be the Host header's. */
  sameOrigin: boolean;
  /** --close-ms: the wait between the steps that end a command (stdin EOF, signals). */
  closeMs: number;
  /** --reverse-lookup: REMOTE_HOST is the client's host name, not its address. */
  reverseLookup: boolean;
  /** --header, --header-ws, --header-http, checked: extra response headers. */
  headers: ResponseHeaders;
  /** --auth-*, --private-channels, --allow-anonymous (docs/authentication.md). */
  auth: AuthSettings;
  /** --max-lifetime: seconds a client may stay (closed with 4003, jittered); 0: no limit. */
  maxLifetime: number;
  /** --idle-timeout: seconds without a data message either way (4004); 0: no limit. */
  idleTimeout: number;
  /** --on-connect, --on-disconnect, --on-channel, --hook-timeout, --vacate-grace, --presence-ttl. */
  lifecycle: LifecycleSettings;
  /** --drain-seconds: a drain closes the clients with 1012 evenly over this window. */
  drainSeconds: number;
  /** --exec-user, --exec-limit, --line-buffered (docs/isolation.md); absent: none. */
  sandbox?: SandboxSettings;
}

/**
 * Presence and lifecycle hooks (docs/presence.md). A hook is a command (run without a
 * shell, with a CGI-like environment) or an http(s) URL (POSTed JSON).
 */
export interface LifecycleSettings {
  onConnect: HookTarget | undefined;
  onDisconnect: HookTarget | undefined;
  /** A channel's `occupied` and `vacated` events. */
  onChannel: HookTarget | undefined;
  /** Seconds a hook may run before it is killed (a command) or abandoned (a URL). */
  hookTimeout: number;
  /** Seconds a channel stays occupied after its last client left. */
  vacateGrace: number;
  /** Seconds a presence entry lives in Redis without its instance's heartbeat. */
  presenceTtl: number;
}

export type HookTarget = { kind: 'url'; url: string } | { kind: 'command'; argv: string[] };

/**
 * Who may connect (docs/authentication.md). Files only: the keys are read at start by
 * the master, and never reach a worker.
 */
export interface AuthSettings {
  /** --auth-secret-file: a file holding the HS256 secret. */
  secretFile: string | undefined;
  /** --auth-public-key: a PEM public key (RS256, ES256, EdDSA) or a JWKS file. */
  publicKeyFile: string | undefined;
  /** --auth-cookie: the cookie a token may come in. */
  cookie: string | undefined;
  /** --auth-audience: the `aud` tokens must name. */
  audience: string | undefined;
  /** --auth-issuer: the `iss` tokens must have. */
  issuer: string | undefined;
  /** --auth-leeway: seconds of clock skew allowed on exp, nbf and iat. */
  leeway: number;
  /** --private-channels: channel patterns that need a token allowing them. */
  privateChannels: string[];
  /** --allow-anonymous: with keys, a client without a token may have the other channels. */
  allowAnonymous: boolean;
  /** --auth-url: the app's endpoint that decides for a connection without a token. */
  url: string | undefined;
  /** --auth-timeout: seconds --auth-url has to answer. */
  timeout: number;
}

/** Whether connections are checked at all (keys or --auth-url set). */
export function authOn(auth: AuthSettings): boolean {
  return (
    auth.secretFile !== undefined || auth.publicKeyFile !== undefined || auth.url !== undefined
  );
}

/** A response header as a [name, value] pair. */
export type HeaderPair = readonly [name: string, value: string];

/** Extra response headers as [name, value] pairs (see src/master/http/extra-headers.ts). */
export interface ResponseHeaders {
  /** Every response. */
  all: readonly HeaderPair[];
  /** The 101 of an upgrade only. */
  ws: readonly HeaderPair[];
  /** Every other response. */
  http: readonly HeaderPair[];
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
  /** --passenv: the server variables a command may see. */
  passenv: string[];
  /** --quit-words. */
  quitWords: string[];
  /** --binary. */
  binary: boolean;
  /** --close-ms. */
  closeMs: number;
  /** --reverse-lookup. */
  reverseLookup: boolean;
  /** SERVER_SOFTWARE of a command's environment ("push-websocket/0.1.0"). */
  serverSoftware: string;
  /** --max-lifetime in seconds (0: none). */
  maxLifetime: number;
  /** --idle-timeout in seconds (0: none). */
  idleTimeout: number;
  /** --exec-user, --exec-limit, --line-buffered: how a command is confined; absent: not. */
  sandbox?: CommandSandbox;
}

export const WORKER_CONFIG_ENV = 'PUSH_WS_WORKER_CONFIG';

/** Clients run a command (--exec, or --dir's scripts): the URL and their lines are its. */
export function runsCommands(config: Pick<ServerConfig, 'exec' | 'dir'>): boolean {
  return config.exec !== undefined || config.dir !== undefined;
}

/** The original's hello and demo pushes run: not turned off, and no command runs. */
export function demoOn(config: Pick<ServerConfig, 'demo' | 'exec' | 'dir'>): boolean {
  return config.demo && !runsCommands(config);
}

export function workerConfigOf(config: ServerConfig, version = 'unknown'): WorkerConfig {
  return {
    intervalMin: config.intervalMin,
    intervalMax: config.intervalMax,
    maxMessageSize: config.maxMessageSize,
    pingInterval: config.pingInterval,
    exec: config.exec,
    demo: demoOn(config),
    maxBuffered: config.maxBuffered,
    debug: config.logLevel === 'debug',
    memoryLimitMb: config.workerMemoryLimit,
    commandEnv: commandOnlyEnvironment(config),
    passenv: config.passenv,
    quitWords: config.quitWords,
    binary: config.binary,
    closeMs: config.closeMs,
    reverseLookup: config.reverseLookup,
    serverSoftware: `push-websocket/${version}`,
    maxLifetime: config.maxLifetime,
    idleTimeout: config.idleTimeout,
    sandbox: config.sandbox?.command,
  };
}

/**
 * Server variables kept from workers, handed to them here for their commands (which
 * still see them only when --passenv names them). NODE_EXTRA_CA_CERTS makes every Node
 * start parse that CA file (most of a bare start's CPU on machines that set it); a
 * worker does no TLS, but a command may.
 */
function commandOnlyEnvironment(config: ServerConfig): Record<string, string> | undefined {
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  return runsCommands(config) && extra !== undefined ? { NODE_EXTRA_CA_CERTS: extra } : undefined;
}

/**
 * A flag's values as one list: each value comma-separated (as websocketd takes its
 * lists), entries trimmed, blanks dropped (so `--flag ''` is an empty list). Pure.
 */
export function commaList(values: readonly string[]): string[] {
  return values
    .flatMap((value) => value.split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
}
