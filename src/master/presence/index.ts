import { MemoryPresence } from './memory-presence';
import type { PresenceStore } from './types';

export interface PresenceConfig {
  /** --redis: presence across instances; without it, this instance's clients. */
  redis?: string;
  instanceId: string;
  /** --presence-ttl in ms: how long a dead instance's entries may still show. */
  ttlMs: number;
  /** --vacate-grace in ms. */
  vacateGraceMs: number;
  logger: {
    warn(line: string): unknown;
    info(line: string): unknown;
    debug(line: string): unknown;
  };
}

/** The presence store the master runs: Redis with --redis, else in memory. */
export function createPresence(config: PresenceConfig): PresenceStore {
  if (config.redis === undefined)
    return new MemoryPresence({ vacateGraceMs: config.vacateGraceMs });
  // Loaded only with --redis, as the broker's: a master without it never loads ioredis.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const { RedisPresence } = require('./redis-presence') as typeof import('./redis-presence');
  return new RedisPresence({
    url: config.redis,
    instanceId: config.instanceId,
    ttlMs: config.ttlMs,
    vacateGraceMs: config.vacateGraceMs,
    logger: config.logger,
  });
}
