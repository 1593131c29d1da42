import { defaultInstanceId } from './client-id';
import { MemoryBroker } from './memory-broker';
import type { Broker, BrokerLogger } from './types';

export interface BrokerConfig {
  /** --redis: the backplane's URL; without it, the in-memory broker. */
  redis?: string;
  /** Unique among the instances sharing a Redis; a default from host, pid and random. */
  instanceId?: string;
  /** --history (publications kept per channel, 0: off) and --history-ttl (in ms here). */
  history?: { size?: number; ttlMs?: number };
  /** --idempotency-window (in ms here): how long a publish's Idempotency-Key is kept. */
  idempotencyWindowMs?: number;
  logger: BrokerLogger;
}

/**
 * The broker the master runs: Redis with --redis, else in memory. Returns at once; a
 * Redis broker may still be connecting ('down') and comes 'up' by itself.
 */
export function createBroker(config: BrokerConfig): Broker {
  const instanceId = config.instanceId ?? defaultInstanceId();
  if (config.redis === undefined) {
    return new MemoryBroker({
      instanceId,
      history: config.history,
      idempotencyWindowMs: config.idempotencyWindowMs,
    });
  }
  // Loaded only with --redis: a master without it never loads ioredis.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const { RedisBroker } = require('./redis-broker') as typeof import('./redis-broker');
  return new RedisBroker({
    url: config.redis,
    instanceId,
    history: config.history,
    idempotencyWindowMs: config.idempotencyWindowMs,
    logger: config.logger,
  });
}
