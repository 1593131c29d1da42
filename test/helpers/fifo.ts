import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait';

/** Whether process `pid` has `file` open (it is reading it). */
export function hasOpen(pid: number, file: string): boolean {
  try {
    const dir = `/proc/${pid}/fd`;
    return readdirSync(dir).some((fd) => {
      try {
        return readlinkSync(path.join(dir, fd)) === file;
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false; // the process is gone
  }
}

/**
 * A FIFO a test writes for a reader process (a `--config` FIFO). Its writing end is
 * opened read-write, so that opening it waits for no reader (Linux) and a reader's
 * open waits for no writer: nothing in the test process can block.
 */
export class Fifo {
  private writer: number | undefined;

  constructor(readonly file: string) {
    execFileSync('mkfifo', [file]);
  }

  /** Opens the writing end now: a reader's open then returns at once (it waits for none). */
  open(): void {
    this.writer ??= openSync(this.file, 'r+');
  }

  /** Writes `text` now; the reader gets it, then its end of file at `close`. */
  write(text: string): void {
    this.open();
    writeSync(this.writer as number, text);
  }

  /**
   * Once `pid` has the FIFO open, closes the writing end: the reader reads to its end.
   * (Closed before the reader opens it, the text would be lost with the last end.)
   */
  async closeWhenRead(pid: number): Promise<void> {
    await waitFor(() => hasOpen(pid, this.file), 'the reader to open the FIFO');
    this.close();
  }

  /** Closes the writing end, if open (afterEach). */
  close(): void {
    if (this.writer !== undefined) closeSync(this.writer);
    this.writer = undefined;
  }
}
