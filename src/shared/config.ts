/**
 * The server's settings, as the command line fixes them (see src/master/cli.ts), and
 * the part of them a worker needs, with the worker's check of it. The worker imports
 * this file, so it must stay free of yargs, winston and the master's code.
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

/** What a value was, for an error message. */
function shown(value: unknown): string {
  return value === undefined ? 'missing' : `got ${JSON.stringify(value)}`;
}

function field(name: string, problem: string, value: unknown): Error {
  return new Error(`${WORKER_CONFIG_ENV}: ${name} ${problem} (${shown(value)})`);
}

function positiveNumber(record: Record<string, unknown>, name: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw field(name, 'must be a number greater than 0', value);
  }
  return value;
}

function nonNegativeNumber(record: Record<string, unknown>, name: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw field(name, 'must be a number of 0 or more', value);
  }
  return value;
}

function positiveInteger(record: Record<string, unknown>, name: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw field(name, 'must be a whole number of 1 or more', value);
  }
  return value;
}

function boolean(record: Record<string, unknown>, name: string): boolean {
  const value = record[name];
  if (typeof value !== 'boolean') throw field(name, 'must be true or false', value);
  return value;
}

/** Absent (no command), or the command's words: at least one, all strings. */
function commandWords(record: Record<string, unknown>, name: string): string[] | undefined {
  const value = record[name];
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((word) => typeof word === 'string')
  ) {
    throw field(name, 'must be a non-empty array of strings', value);
  }
  return value as string[];
}

const WORKER_CONFIG_FIELDS: readonly (keyof WorkerConfig)[] = [
  'intervalMin',
  'intervalMax',
  'maxMessageSize',
  'pingInterval',
  'exec',
  'demo',
  'maxBuffered',
  'debug',
];

/**
 * The worker's config, from the JSON the master put in its environment, checked field
 * by field: a missing or mistyped field must stop the worker with a clear reason, not
 * quietly turn a limit off (a missing maxMessageSize used to disable the size check).
 * Throws an Error naming the field. Pure.
 */
export function parseWorkerConfig(text: string | undefined): WorkerConfig {
  if (text === undefined) {
    throw new Error(`${WORKER_CONFIG_ENV} is not set (a worker is started by the master)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${WORKER_CONFIG_ENV} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${WORKER_CONFIG_ENV} must be a JSON object`);
  }
  const record = parsed as Record<string, unknown>;
  const unknown = Object.keys(record).find(
    (key) => !(WORKER_CONFIG_FIELDS as readonly string[]).includes(key),
  );
  if (unknown !== undefined) throw new Error(`${WORKER_CONFIG_ENV}: unknown field ${unknown}`);
  const intervalMin = positiveNumber(record, 'intervalMin');
  const intervalMax = positiveNumber(record, 'intervalMax');
  if (intervalMax < intervalMin) {
    throw field('intervalMax', `must not be below intervalMin (${intervalMin})`, intervalMax);
  }
  return {
    intervalMin,
    intervalMax,
    maxMessageSize: positiveInteger(record, 'maxMessageSize'),
    pingInterval: nonNegativeNumber(record, 'pingInterval'),
    exec: commandWords(record, 'exec'),
    demo: boolean(record, 'demo'),
    maxBuffered: positiveInteger(record, 'maxBuffered'),
    debug: boolean(record, 'debug'),
  };
}
