import type { Socket } from 'node:net';
import type { FeedTarget } from '../channels/client-feed';
import { MAX_IN_FLIGHT, type WorkerMeta } from '../pool/worker';

/**
 * A worker's publish pipe as a hot upgrade's new master holds it before the worker is
 * adopted: the old master passes the pipe's write end over their fork IPC (the very
 * socket pair the worker reads as fd 4), once it has written all it had for it, so that
 * the client's publications go on from the new master at once instead of waiting for
 * the worker to re-attach (issue 23: the longest pause was the time to adopt them all).
 *
 * The worker reads the one pipe from start to end, so the two masters' frames reach it
 * in the order they were written, whole: the old master passes a pipe only when nothing
 * of it is still queued (`writableLength` 0), and writes no more to it (its relay is
 * frozen). Once the worker is adopted its Worker writes to the same pipe
 * (adopted-process.ts).
 */
export class HandedPipe implements FeedTarget {
  /** Writes not yet taken by the kernel (a stuck worker gets no more: MAX_IN_FLIGHT). */
  private writing = 0;
  private readonly written = (): void => {
    this.writing--;
  };

  constructor(
    readonly pipe: Socket,
    readonly meta: WorkerMeta,
  ) {
    // EPIPE once the worker is gone: its end is told when the new master gives up on it.
    pipe.on('error', () => undefined);
    // Never what keeps the master alive.
    pipe.unref();
  }

  publish(frames: Buffer): boolean {
    if (this.pipe.destroyed || this.writing >= MAX_IN_FLIGHT) return false;
    this.writing++;
    this.pipe.write(frames, this.written);
    return true;
  }
}
