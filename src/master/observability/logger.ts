import winston from 'winston';
import type { LogFormat, LogLevel } from '../../shared/config';
import { escapeControls } from './log-escape';

/**
 * The master's log (workers send their lines here over IPC). Text lines look like
 * the original's `[YYYY-MM-DD HH:MM:SS] message`, in local time as PHP's date();
 * a line about a client names `#ID` and, once it has a worker, `pid PID`, and the
 * client's verified user as `user "ID"` (JSON-quoted: a user id is the client's text).
 * JSON lines carry the same as keys `client`, `pid` and `user`.
 */
export interface ClientMeta {
  client?: number;
  pid?: number;
  user?: string;
}

export type Logger = Pick<
  winston.Logger,
  'error' | 'warn' | 'info' | 'debug' | 'isDebugEnabled'
> & {
  /** Flushes what is queued, then resolves (call before process.exit). */
  flush(): Promise<void>;
};

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

export function localTimestamp(date = new Date()): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** The text line: the message, then whatever of `#ID` and `pid PID` it does not say itself. */
export function textLine(message: string, meta: ClientMeta, date = new Date()): string {
  const tags: string[] = [];
  if (meta.client !== undefined && !message.includes(`#${meta.client}`)) {
    tags.push(`client #${meta.client}`);
  }
  if (meta.pid !== undefined && !message.includes(`pid ${meta.pid}`)) tags.push(`pid ${meta.pid}`);
  if (meta.user !== undefined) tags.push(`user ${JSON.stringify(meta.user)}`);
  const suffix = tags.length > 0 ? ` (${tags.join(', ')})` : '';
  return `[${localTimestamp(date)}] ${message}${suffix}`;
}

/**
 * First in both formats: every string of the line (the message and any string field)
 * gets its control characters escaped, so that no text from a client, a request or a
 * command can break a line or forge one (see log-escape.ts).
 */
const escapeFormat = winston.format((info) => {
  // The ready line's level passes every --log-level; it reads as an info line.
  if (info.level === READY_LEVEL) info.level = 'info';
  for (const key of Object.keys(info)) {
    const value = info[key];
    if (typeof value === 'string') info[key] = escapeControls(value);
  }
  return info;
});

const textFormat = winston.format.combine(
  escapeFormat(),
  winston.format.printf((info) => textLine(String(info.message), info as ClientMeta)),
);

const jsonFormat = winston.format.combine(
  escapeFormat(),
  winston.format((info) => {
    info.time = new Date().toISOString();
    return info;
  })(),
  winston.format.json(),
);

/**
 * A level above every --log-level, for the one line tools wait for (`Server started on
 * HOST:PORT`): printed at any level, shown as an info line. Its own name only inside.
 */
const READY_LEVEL = 'ready';

/**
 * The master's logger, and `ready(line)`, printed whatever the level (the ready line);
 * `setLevel` changes --log-level while it runs (SIGHUP).
 */
export type MasterLogger = Logger & {
  ready(message: string): void;
  setLevel(level: LogLevel): void;
};

/**
 * Hazard: the log's reader can go away while the master runs (the journal restarted, the
 * other end of `npm start | tee` exited). Every later write then fails with EPIPE, an
 * 'error' event on process.stdout or stderr, which with no listener ended the master
 * and every client with it. Lines written after that are lost; nothing else is.
 */
function keepServingWithoutLogReader(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }
}

/** The level methods the master calls (`ready` passes every level: it is not one). */
const LEVEL_METHODS = ['error', 'warn', 'info', 'debug'] as const;

/**
 * Hazard: winston formats every line it is given and leaves the level to its transports,
 * so a line below --log-level still went through the escapes, the timestamp and two
 * streams before it was dropped: at info, four debug lines for every client's handshake
 * (perf, churn). Each level method now drops such a line before winston sees it.
 */
function dropBelowLevel(logger: winston.Logger): void {
  for (const level of LEVEL_METHODS) {
    const log = logger[level].bind(logger);
    logger[level] = ((...args: Parameters<typeof log>) =>
      logger.isLevelEnabled(level) ? log(...args) : logger) as typeof log;
  }
}

export function createLogger(level: LogLevel, format: LogFormat): MasterLogger {
  keepServingWithoutLogReader();
  const logger = winston.createLogger({
    levels: { [READY_LEVEL]: 0, ...winston.config.npm.levels },
    level,
    format: format === 'json' ? jsonFormat : textFormat,
    transports: [new winston.transports.Console({ stderrLevels: ['error'] })],
  });
  dropBelowLevel(logger);
  return Object.assign(logger, {
    ready(message: string): void {
      logger.log(READY_LEVEL, message);
    },
    setLevel(next: LogLevel): void {
      logger.level = next;
    },
    flush(): Promise<void> {
      // Hazard: the process is exiting, but events still come (a hot upgrade's old master
      // reaps a child that ended meanwhile) and log: a write after the end is an 'error'
      // event, which with no listener ended the exiting master with a stack trace.
      // Such a late line is dropped; any other error still surfaces.
      logger.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ERR_STREAM_WRITE_AFTER_END') throw error;
      });
      return new Promise<void>((resolve) => {
        const done = (): void => resolve();
        // Bounded: a stuck stdout must not keep a stopping server alive.
        const timer = setTimeout(done, 1000);
        logger.on('finish', () => {
          clearTimeout(timer);
          setImmediate(done);
        });
        logger.end();
      });
    },
  });
}
