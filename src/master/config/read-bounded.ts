import { close, constants, createReadStream, fstat, open } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/**
 * A file read without ever blocking the master's event loop, bounded in time and size:
 * the SIGHUP reload's read of --config (docs/operations.md#configuration-file).
 *
 * Hazard: --config may name a FIFO (`--config <(command)`, a secrets pipe). The start
 * reads it with readFileSync (blocking there is the start's business), but a reload
 * that did so would wait for a writer that may never come, with every client's
 * handshake, /healthz and every publication stopped behind it. Even fs.promises would
 * only move the wait to libuv's thread pool (an open(2) of a FIFO with no writer never
 * returns), where a few such reloads would take every thread. So the file is opened
 * with O_NONBLOCK (a FIFO's open then returns at once, a regular file's is unchanged)
 * and a FIFO is read through the event loop's own poller, as a pipe: nothing waits
 * anywhere, and the timer below ends the read.
 */

export interface ReadBounds {
  /** The whole read, open to end of file, must end within this. */
  timeoutMs: number;
  /** A file larger than this is refused (a config file is a few hundred bytes). */
  maxBytes: number;
}

/** The reload's bounds: 5 s for a writer to give the file, 1 MiB. */
export const RELOAD_READ_BOUNDS: ReadBounds = { timeoutMs: 5000, maxBytes: 1 << 20 };

/** Why the file could not be read: a short phrase, e.g. `ENOENT`, `nothing written within 5 s`. */
export class ReadProblem extends Error {}

function openNonBlocking(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(file, constants.O_RDONLY | constants.O_NONBLOCK, (error, fd) =>
      error === null ? resolve(fd) : reject(error),
    );
  });
}

/** A stream of the open file: a FIFO (or socket) on the event loop's poller, else as a file. */
function streamOf(fd: number): Promise<Readable> {
  return new Promise((resolve, reject) => {
    fstat(fd, (error, stats) => {
      if (error !== null) {
        close(fd, () => reject(error));
        return;
      }
      // Either stream owns the descriptor from here: destroying it closes the fd.
      resolve(
        stats.isFIFO() || stats.isSocket()
          ? new Socket({ fd, readable: true, writable: false })
          : createReadStream('', { fd, autoClose: true }),
      );
    });
  });
}

function problemOf(error: unknown): ReadProblem {
  if (error instanceof ReadProblem) return error;
  const { code, message } = error as NodeJS.ErrnoException;
  return new ReadProblem(code ?? message);
}

/**
 * The text of `file` (UTF-8), read within `bounds`; a ReadProblem when it cannot be
 * opened or read, stays silent past the time bound, or is larger than allowed.
 */
export async function readBounded(file: string, bounds: ReadBounds): Promise<string> {
  let stream: Readable | undefined;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new ReadProblem(`nothing read to its end within ${bounds.timeoutMs / 1000} s`)),
      bounds.timeoutMs,
    );
  });
  const read = async (): Promise<string> => {
    stream = await streamOf(await openNonBlocking(file));
    // Opened after the time ran out: closed at once, nobody waits for it any more.
    if (finished) stream.destroy();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      size += bytes.length;
      if (size > bounds.maxBytes) throw new ReadProblem(`larger than ${bounds.maxBytes} bytes`);
      chunks.push(bytes);
    }
    return Buffer.concat(chunks).toString('utf8');
  };
  const reading = read();
  // The loser of the race below must not surface as an unhandled rejection.
  reading.catch(() => undefined);
  try {
    return await Promise.race([reading, expired]);
  } catch (error) {
    throw problemOf(error);
  } finally {
    finished = true;
    clearTimeout(timer);
    // On a timeout: stops the poller's wait (or the pool's next read) and closes the fd.
    stream?.destroy();
  }
}
