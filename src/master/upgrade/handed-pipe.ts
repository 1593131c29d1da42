import type { Socket } from 'node:net';
import type { FeedTarget } from '../channels/client-feed';
import { PipeWriter } from '../pool/pipe-writer';
import type { WorkerMeta } from '../pool/worker';

/**
 * A worker's publish pipe as a hot upgrade's new master writes to it before the worker
 * is adopted, as a feed's target (client-feed.ts). The old master passes the pipe's
 * write end over their fork IPC (the very socket pair the worker reads as fd 4) while it
 * still serves, and releases it once frozen with nothing of it still queued
 * (hot-upgrade.ts), so that the client's publications go on from the new master at once
 * instead of waiting for the worker to re-attach (issue 23: the longest pause was the
 * time to adopt them all).
 *
 * The worker reads the one pipe from start to end, so the two masters' frames reach it
 * in the order they were written, whole: the new master writes only to a released pipe,
 * and the old one writes no more to it (its relay is frozen). Once the worker is adopted
 * its Worker writes to the same pipe (adopted-process.ts).
 */
export function handedPipe(pipe: Socket, meta: WorkerMeta): FeedTarget {
  const writer = new PipeWriter(pipe);
  // Never what keeps the master alive.
  pipe.unref();
  return { publish: (frames) => writer.write(frames), meta };
}
