import { readFileSync } from 'node:fs';

/**
 * The resident memory of the workers, summed, for the metrics scrape.
 *
 * Read from `/proc/PID/status` (`VmRSS`, in kB): the same kernel counters as
 * `/proc/PID/statm` without having to know the page size, and without the page-table walk
 * that `/proc/PID/smaps_rollup` costs per process (a scrape may cover thousands of
 * workers). Pages shared between workers (Node's own code) count once per worker, so
 * the sum overstates what the workers take together; it tracks growth faithfully.
 */

/** `VmRSS` of a /proc/PID/status text, in bytes; undefined when absent (a zombie, a kernel thread). */
export function residentBytes(statusText: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText);
  return match === null ? undefined : Number(match[1]) * 1024;
}

function residentBytesOf(pid: number): number {
  try {
    return residentBytes(readFileSync(`/proc/${pid}/status`, 'utf8')) ?? 0;
  } catch {
    return 0; // gone between the listing and the read: it holds no memory now
  }
}

/**
 * Workers read between two turns of the event loop. A /proc file is read synchronously
 * (about 17 µs): with 500 workers, promise-based reads cost the master 3 times the CPU
 * (a cold scrape 78 ms of CPU, against 26 ms), for a file the kernel writes in one go.
 * In slices, a pass over thousands of workers never holds the event loop more than ~1 ms
 * at a time, so handshakes are not kept waiting.
 */
const PIDS_PER_TURN = 64;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Sums the workers' RSS at most once per `maxAgeMs`: a scrape storm (or two Prometheus
 * servers) costs one pass over /proc a second, and concurrent scrapes share one pass.
 */
export class WorkerMemory {
  private cached: { at: number; bytes: number } | undefined;
  private pending: Promise<number> | undefined;

  constructor(
    private readonly workerPids: () => readonly number[],
    private readonly maxAgeMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  bytes(): Promise<number> {
    if (this.cached !== undefined && this.now() - this.cached.at < this.maxAgeMs) {
      return Promise.resolve(this.cached.bytes);
    }
    this.pending ??= this.measure().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async measure(): Promise<number> {
    const at = this.now();
    const pids = this.workerPids();
    let bytes = 0;
    for (let start = 0; start < pids.length; start += PIDS_PER_TURN) {
      if (start > 0) await nextTurn();
      for (const pid of pids.slice(start, start + PIDS_PER_TURN)) bytes += residentBytesOf(pid);
    }
    this.cached = { at, bytes };
    return bytes;
  }
}
