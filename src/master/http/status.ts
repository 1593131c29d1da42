import type { ServerConfig } from '../../shared/config';
import type { WorkerPool } from '../pool/worker-pool';

/** How long GET /status waits for a worker's push count before it shows null. */
const REPORT_TIMEOUT_MS = 500;

export interface ServerFacts {
  address: string;
  startedAt: number;
  version: string;
}

/**
 * The body of GET /status: the clients and their workers, the idle spares, the
 * limits in force. Every pid in it is a live child of the master.
 */
export async function statusReport(
  pool: WorkerPool,
  config: ServerConfig,
  facts: ServerFacts,
): Promise<object> {
  const clients = await Promise.all(
    pool.busy.map(async (worker) => ({
      id: worker.client?.id,
      pid: worker.pid,
      remote: worker.client?.remote,
      since: worker.client?.since.toISOString(),
      pushed: (await worker.report(REPORT_TIMEOUT_MS)) ?? null,
    })),
  );
  return {
    clients,
    spares: pool.spares.map((worker) => worker.pid),
    limits: {
      host: config.host,
      port: config.port,
      max_clients: config.maxClients,
      interval_min: config.intervalMin,
      interval_max: config.intervalMax,
      spare_workers: config.spareWorkers,
      origins: config.origins,
      max_message_size: config.maxMessageSize,
      handshake_timeout: config.handshakeTimeout,
      ping_interval: config.pingInterval,
      exec: config.exec?.[0] ?? null,
      demo: config.demo && config.exec === undefined,
      publish: config.publishToken !== undefined,
      max_buffered: config.maxBuffered,
    },
    listening: facts.address,
    uptime_s: Math.round((Date.now() - facts.startedAt) / 1000),
    version: facts.version,
  };
}
