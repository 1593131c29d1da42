import type { Writable } from 'node:stream';

/**
 * Messages a worker may have waiting on its IPC channel, and published messages on its
 * publish pipe, before it counts as stuck.
 */
export const MAX_IN_FLIGHT = 1000;

/**
 * Writes published frames on a worker's publish pipe (src/shared/publish-stream.ts),
 * unless the pipe is gone or the worker has not taken the last MAX_IN_FLIGHT writes off
 * it: such a worker is stuck and gets no more. The forked worker's pipe (worker.ts) and
 * one a hot upgrade's old master passed over (src/master/upgrade/handed-pipe.ts).
 */
export class PipeWriter {
  /** Writes not yet taken by the kernel. */
  private writing = 0;
  private readonly written = (): void => {
    this.writing--;
  };

  constructor(private readonly pipe: Writable) {
    // EPIPE (or a reset) once the worker is gone: its exit is told where the process's is.
    pipe.on('error', () => undefined);
  }

  /** False when the frames were dropped (the pipe gone, or the worker stuck). */
  write(frames: Buffer): boolean {
    if (this.pipe.destroyed || this.writing >= MAX_IN_FLIGHT) return false;
    this.writing++;
    this.pipe.write(frames, this.written);
    return true;
  }
}
