import { demoOn, type ServerConfig } from '../../shared/config';
import { clientIdOf } from '../broker/client-id';
import type { BrokerState } from '../broker/types';
import type { PushCountsRound } from '../pool/push-counts';
import type { Worker } from '../pool/worker';

export interface ServerFacts {
  address: string;
  startedAt: number;
  version: string;
  /** This instance's id (the prefix of its clients' global ids). */
  instance: string;
  backplane: BrokerState;
}

/**
 * The body of GET /status: the clients and their workers, the idle spares and how
 * many the pool wants now (`spare_target`: --spare-workers N, or between MIN and MAX
 * with MIN:MAX), the limits in force. Every pid in it is a live child of the master. `pushed` is null,
 * and `responding` false, for a worker that did not answer in time.
 */
export function statusBody(
  serving: Worker[],
  counts: PushCountsRound,
  spares: Worker[],
  spareTarget: number,
  config: ServerConfig,
  facts: ServerFacts,
): object {
  return {
    clients: serving.map((worker) => {
      const pushed = counts.get(worker) ?? null;
      return {
        id: worker.client?.id,
        global_id:
          worker.client === undefined ? undefined : clientIdOf(facts.instance, worker.client.id),
        channel: worker.client?.channel,
        pid: worker.pid,
        remote: worker.client?.remote,
        user: worker.client?.user ?? null,
        transport: worker.client?.transport ?? 'websocket',
        since: worker.client?.since.toISOString(),
        pushed,
        responding: !counts.has(worker) || pushed !== null,
      };
    }),
    spares: spares.map((worker) => worker.pid),
    spare_target: spareTarget,
    limits: {
      host: config.host,
      port: config.port,
      max_clients: config.maxClients,
      interval_min: config.intervalMin,
      interval_max: config.intervalMax,
      spare_workers: config.spareWorkers,
      spare_workers_max: config.spareWorkersMax,
      origins: config.origins,
      max_message_size: config.maxMessageSize,
      handshake_timeout: config.handshakeTimeout,
      ping_interval: config.pingInterval,
      exec: config.exec?.[0] ?? null,
      demo: demoOn(config),
      publish: config.publishToken !== undefined,
      max_buffered: config.maxBuffered,
      history: config.history,
      history_ttl: config.historyTtl,
      idempotency_window: config.idempotencyWindow,
      channel_exec: config.channelExec.map((command) => command.channel),
      trust_proxy: config.trustProxy,
      worker_memory_limit: config.workerMemoryLimit,
      max_clients_per_ip: config.maxClientsPerIp,
      connect_rate: config.connectRate ?? null,
    },
    instance: facts.instance,
    backplane: { state: facts.backplane, redis: config.redis !== undefined },
    listening: facts.address,
    uptime_s: Math.round((Date.now() - facts.startedAt) / 1000),
    version: facts.version,
  };
}
