import { defaultInstanceId } from './client-id';
import { MemoryBroker } from './memory-broker';
import { RedisBroker } from './redis-broker';
import type { Broker, BrokerLogger } from './types';

export * from './types';
export { BROADCAST_CHANNEL, normaliseChannel } from '../channels/channel-name';
export { clientIdOf, defaultInstanceId, instanceOfClientId } from './client-id';
export { MemoryBroker } from './memory-broker';
export { RedisBroker } from './redis-broker';

export interface BrokerConfig {
  /** --redis: the backplane's URL; without it, the in-memory broker. */
  redis?: string;
  /** Unique among the instances sharing a Redis; a default from host, pid and random. */
  instanceId?: string;
  /** --history (publications kept per channel, 0: off) and --history-ttl (in ms here). */
  history?: { size?: number; ttlMs?: number };
  logger: BrokerLogger;
}

/**
 * The broker the master runs: Redis with --redis, else in memory. Returns at once; a
 * Redis broker may still be connecting ('down') and comes 'up' by itself.
 */
export function createBroker(config: BrokerConfig): Broker {
  const instanceId = config.instanceId ?? defaultInstanceId();
  if (config.redis === undefined) {
    return new MemoryBroker({ instanceId, history: config.history });
  }
  return new RedisBroker({
    url: config.redis,
    instanceId,
    history: config.history,
    logger: config.logger,
  });
}
