import { Metrics, type WorkerCounts } from './metrics';
import { WorkerState } from '../pool/worker';
import type { WorkerPool } from '../pool/worker-pool';

/** What the gauges read at each scrape. */
export interface MetricsSources {
  pool: WorkerPool;
  /** Clients connected now. */
  clients: () => number;
  /** Channels with a client here. */
  channels: () => number;
}

/**
 * The workers by the states the metric shows: a reserved worker (its client's 101 is on
 * its way) already counts as serving; one told to exit is no longer counted.
 */
export function workersByState(pool: WorkerPool): WorkerCounts {
  return {
    idle: pool.countIn(WorkerState.Idle),
    serving: pool.countIn(WorkerState.Reserved) + pool.countIn(WorkerState.Serving),
    starting: pool.countIn(WorkerState.Starting),
  };
}

/** The master's metrics, with its gauges and the workers' memory read at scrape time. */
export function masterMetrics(sources: MetricsSources): Metrics {
  const metrics = new Metrics({
    workerPids: () => sources.pool.all.map((worker) => worker.pid),
    snapshot: () => ({
      clients: sources.clients(),
      channels: sources.channels(),
      workers: workersByState(sources.pool),
    }),
  });
  return metrics;
}
