import type { Worker } from './worker';

/** How long to wait for a dead worker's IPC channel to close before going on anyway. */
export const LAST_WORDS_MS = 1000;

/**
 * Runs `then` once every message of an exited worker has been handled (bounded by
 * LAST_WORDS_MS). A child's `exit` event can come before the last messages it wrote (its
 * `closed` goodbye) have been read from the IPC channel; its `disconnect` comes after.
 */
export function afterLastMessage(worker: Worker, then: () => void): void {
  const child = worker.process;
  if (child.connected !== true) return then();
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    then();
  };
  const timer = setTimeout(once, LAST_WORDS_MS);
  timer.unref();
  child.once('disconnect', once);
}
