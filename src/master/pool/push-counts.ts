import type { Worker } from './worker';

/** How long a round waits for workers' answers before it counts them as not answering. */
export const REPORT_TIMEOUT_MS = 500;
/** A finished round's counts serve every request for this long. */
export const REPORT_MAX_AGE_MS = 1000;

/** A worker's push count; null when it did not answer in time. */
export type PushCountsRound = Map<Worker, number | null>;

/**
 * Asks serving workers how many pushes they made, for GET /status, at a cost that does
 * not grow with the request rate: one round at a time (concurrent requests share it),
 * and a finished round is reused for REPORT_MAX_AGE_MS while it covers every serving
 * worker (a new client starts a new round). So 1,000 requests a second
 * cost one IPC message per worker per second, not 1,000.
 */
export class PushCounts {
  private round: Promise<PushCountsRound> | undefined;
  private last: { at: number; counts: PushCountsRound } | undefined;
  private readonly answers = new Map<Worker, (pushed: number) => void>();

  constructor(
    private readonly serving: () => Worker[],
    private readonly timeoutMs = REPORT_TIMEOUT_MS,
    private readonly maxAgeMs = REPORT_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  read(): Promise<PushCountsRound> {
    const last = this.last;
    if (
      last !== undefined &&
      this.now() - last.at < this.maxAgeMs &&
      this.serving().every((worker) => last.counts.has(worker))
    ) {
      return Promise.resolve(last.counts);
    }
    this.round ??= this.ask().then((counts) => {
      this.round = undefined;
      this.last = { at: this.now(), counts };
      return counts;
    });
    return this.round;
  }

  /** A worker's answer (IPC `report`). */
  reported(worker: Worker, pushed: number): void {
    this.answers.get(worker)?.(pushed);
  }

  /** A worker is gone: it will not answer. */
  forget(worker: Worker): void {
    this.answers.get(worker)?.(Number.NaN);
  }

  private async ask(): Promise<PushCountsRound> {
    const workers = this.serving();
    const counts: PushCountsRound = new Map(workers.map((worker) => [worker, null]));
    await new Promise<void>((resolve) => {
      let waiting = 0;
      const done = (): void => {
        clearTimeout(timer);
        for (const worker of workers) this.answers.delete(worker);
        resolve();
      };
      const timer = setTimeout(done, this.timeoutMs);
      for (const worker of workers) {
        if (this.answers.has(worker) || !worker.sendBounded({ type: 'report' })) continue;
        waiting++;
        this.answers.set(worker, (pushed) => {
          this.answers.delete(worker);
          if (!Number.isNaN(pushed)) counts.set(worker, pushed);
          if (--waiting === 0) done();
        });
      }
      if (waiting === 0) done();
    });
    return counts;
  }
}
