/**
 * What the Redis presence store keeps, without I/O: key names and Lua scripts.
 *
 * Per channel (the `{<channel>}` hash tag keeps its keys on one Cluster slot):
 * - `<prefix>{<channel>}:presence`: sorted set of instance ids, each scored with the
 *   time (Redis's clock, ms) of its last heartbeat for the channel;
 * - `<prefix>{<channel>}:presence:<instance>`: hash of that instance's clients on the
 *   channel, client id → JSON {user, since, transport}.
 * Both expire `ttl` ms after the last write or heartbeat, so a SIGKILLed instance's
 * entries vanish without anyone removing them; reads count only instances whose score
 * is within `ttl` of now, so they stop showing at once when it passes, and each
 * heartbeat trims the set of instances older than that: nothing grows without bound.
 *
 * Why a hash per instance, not one sorted set of clients scored by heartbeat: a
 * heartbeat then costs one script per channel of the instance (PEXPIRE, ZADD), not a
 * write per client; the reader's one round trip reads only live instances' hashes.
 * Every time is Redis's own (TIME), so instances' clocks may disagree.
 */

export interface PresenceKeys {
  /** The sorted set of instances with clients on the channel. */
  instances: string;
  /** The hash of one instance's clients on the channel. */
  clients: string;
  /**
   * Set while the channel is occupied (across instances): created by the join that
   * finds it missing (`occupied`), deleted by the one vacate check that finds the
   * channel still empty after the grace (`vacated`). It outlives the entries (`hold`:
   * twice the TTL plus the grace), so that when an instance dies with the channel's last
   * clients, a survivor's sweep still finds it and vacates the channel, once.
   */
  occupied: string;
}

/**
 * The registry of occupied channels, across instances: a sorted set of channel names,
 * each scored with the time (Redis's clock) an instance last wrote or beat it. A
 * channel not written for the TTL plus the grace has no live instance on it: a sweep
 * (every instance's, at each heartbeat) vacates it, once (the DEL of its flag decides).
 * A key of its own (no channel hash tag): only the registry scripts touch it.
 */
export function registryKey(prefix: string): string {
  return `${prefix}presence:channels`;
}

export function presenceKeys(prefix: string, channel: string, instance: string): PresenceKeys {
  const instances = `${prefix}{${channel}}:presence`;
  return {
    instances,
    clients: `${instances}:${instance}`,
    occupied: `${prefix}{${channel}}:occupied`,
  };
}

/** Redis's clock in ms (TIME is allowed in scripts since Redis 5: effects replication). */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Marks the instance alive on the channel and keeps its keys alive (the occupied flag
 * for `hold`); trims instances whose heartbeat is older than the TTL.
 * KEYS: instances, clients, occupied. ARGV: instance, ttl, hold.
 */
const BEAT = `
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
`;

/** The channel's live client count (every instance whose heartbeat is within the TTL). */
const TOTAL = `
local total = 0
for _, instance in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf')) do
  total = total + redis.call('HLEN', KEYS[1] .. ':' .. instance)
end
`;

/**
 * A client joins. KEYS: instances, clients, occupied. ARGV: instance, ttl, hold,
 * client, value. Returns 1 when this join occupied the channel (it was not occupied,
 * nor within its vacate grace, nor left by a dead instance not yet swept), else 0.
 */
export const JOIN_SCRIPT = `${NOW}
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
local occupied = redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3])
${BEAT}
if occupied then return 1 end
return 0
`;

/**
 * A client leaves. KEYS: instances, clients, occupied. ARGV: instance, ttl, hold,
 * client. Returns the channel's live client count after it; at 0 the occupied flag is
 * kept for `hold`, so the caller's vacate check (after the grace), or a survivor's sweep
 * should this instance die first, still finds it.
 */
export const LEAVE_SCRIPT = `${NOW}
redis.call('HDEL', KEYS[2], ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then
${BEAT}
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
${TOTAL}
if total == 0 and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return total
`;

/**
 * After the grace, or from a sweep: the channel is vacated if it is still empty and
 * still flagged (only one instance's check deletes the flag). KEYS: instances, clients,
 * occupied. ARGV: instance, ttl, hold. Returns 1 when vacated now.
 */
export const VACATE_SCRIPT = `${NOW}
${TOTAL}
if total == 0 and redis.call('DEL', KEYS[3]) == 1 then return 1 end
return 0
`;

/**
 * The heartbeat of one channel. KEYS: instances, clients, occupied. ARGV: instance,
 * ttl, hold.
 * Returns 1, or 0 when the instance's hash is gone (Redis restarted, flushed, or the
 * TTL passed while the link was down): the caller writes it again (SYNC).
 */
export const HEARTBEAT_SCRIPT = `${NOW}
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
${BEAT}
return 1
`;

/**
 * Writes this instance's whole table for a channel again. KEYS: instances, clients,
 * occupied. ARGV: instance, ttl, hold, then client, value pairs (at least one). The
 * channel is flagged occupied again without an event (it was, before the data was lost).
 */
export const SYNC_SCRIPT = `${NOW}
redis.call('DEL', KEYS[2])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3])
${BEAT}
return 1
`;

/**
 * Every live instance's clients of a channel, in one round trip. KEYS: instances.
 * ARGV: ttl. Returns a flat list: instance, then its hash as field, value, ..., then ''.
 */
export const LIST_SCRIPT = `${NOW}
local out = {}
for _, instance in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')) do
  out[#out + 1] = instance
  for _, item in ipairs(redis.call('HGETALL', KEYS[1] .. ':' .. instance)) do out[#out + 1] = item end
  out[#out + 1] = ''
end
return out
`;

/**
 * Channels written now by this instance (a join, a heartbeat, a sync). KEYS: registry.
 * ARGV: hold, then channel names. The registry lives `hold` past its last write.
 */
export const REGISTER_SCRIPT = `${NOW}
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * Channels nobody has written for `age` ms (the TTL plus the grace): their instances
 * are gone. KEYS: registry. ARGV: age, limit. Returns up to `limit` names, oldest first.
 */
export const SWEEP_SCRIPT = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
`;

/**
 * A swept channel leaves the registry, unless written since (a client joined it
 * meanwhile). KEYS: registry. ARGV: age, channel. Returns 1 when removed.
 */
export const UNREGISTER_SCRIPT = `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if score and tonumber(score) <= now - tonumber(ARGV[1]) then
  return redis.call('ZREM', KEYS[1], ARGV[2])
end
return 0
`;
