import type { Publication } from './types';

/**
 * What the Redis broker stores and sends, without I/O: key names, the Lua scripts and
 * the pub/sub message format.
 *
 * Per channel (a hash tag keeps both keys on one Redis Cluster slot):
 * - `<prefix>{<channel>}:meta`: hash {epoch, offset}. Created, with a fresh epoch, when
 *   missing: so after FLUSHALL or expiry a channel starts a new epoch at offset 1.
 * - `<prefix>{<channel>}:stream`: Stream of entries {o: offset, d: data}, trimmed with
 *   MAXLEN ~ size and MINID ~ (now - TTL), expiring TTL after the last publication.
 *   Approximate trimming is cheap; reads count only the last `size` offsets within the
 *   TTL, so what a client gets back is exact.
 * - `<prefix>{<channel>}:idem:<key>`: hash {o: offset, e: epoch, h: data fingerprint}
 *   of a publication made with an idempotency key, expiring after the window.
 * Pub/sub: `<prefix>pub:<channel>` carries "<offset> <epoch> <data>";
 * `<prefix>client:<instanceId>` carries "<clientId> <data>".
 *
 * Publishing is one script: offset (HINCRBY), XADD and PUBLISH run atomically, so every
 * instance sees each channel's publications in offset order.
 */

export interface ChannelKeys {
  meta: string;
  stream: string;
}

export function channelKeys(prefix: string, channel: string): ChannelKeys {
  return { meta: `${prefix}{${channel}}:meta`, stream: `${prefix}{${channel}}:stream` };
}

/** The key that remembers a publication made with an idempotency key (same slot). */
export function idempotencyKeyName(prefix: string, channel: string, key: string): string {
  return `${prefix}{${channel}}:idem:${key}`;
}

export function publicationTopic(prefix: string, channel: string): string {
  return `${prefix}pub:${channel}`;
}

export function clientTopic(prefix: string, instanceId: string): string {
  return `${prefix}client:${instanceId}`;
}

/** The topic every instance subscribes to: messages to all instances. */
export function instancesTopic(prefix: string): string {
  return `${prefix}instances`;
}

/** A message to every instance, with its sender (which skips its own). */
export function encodeInstanceMessage(from: string, message: string): string {
  return JSON.stringify({ from, message });
}

export function decodeInstanceMessage(text: string): { from: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(text) as { from?: unknown; message?: unknown };
    if (typeof parsed.from !== 'string' || typeof parsed.message !== 'string') return undefined;
    return { from: parsed.from, message: parsed.message };
  } catch {
    return undefined;
  }
}

/** Shared head of both scripts: the channel's epoch, created (and old stream dropped) if missing. */
const ENSURE_EPOCH = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0)
  redis.call('DEL', KEYS[2])
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * KEYS: meta, stream, idempotency key (any name in the slot when ARGV[7] is empty).
 * ARGV: new epoch, data, history size (0: off), history TTL ms (0: none), channel TTL
 * ms (0: none), pub/sub topic, data fingerprint ('' without a key), key window ms.
 * Returns {offset, epoch} for a publication made now, {offset, epoch, fingerprint} for
 * one made before with the key: then nothing is published. Check, publication and
 * record run as one script: two publications with one key cannot both be made.
 */
export const PUBLISH_SCRIPT = `
if ARGV[7] ~= '' then
  local seen = redis.call('HMGET', KEYS[3], 'o', 'e', 'h')
  if seen[1] then return {tonumber(seen[1]), seen[2], seen[3]} end
end
${ENSURE_EPOCH}
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
local size = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local channel_ttl = tonumber(ARGV[5])
if size > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', size, '*', 'o', offset, 'd', ARGV[2])
  if ttl > 0 then
    redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%.0f', now_ms() - ttl))
    redis.call('PEXPIRE', KEYS[2], ttl)
  elseif channel_ttl > 0 then
    redis.call('PEXPIRE', KEYS[2], channel_ttl)
  end
end
if channel_ttl > 0 then redis.call('PEXPIRE', KEYS[1], channel_ttl) end
redis.call('PUBLISH', ARGV[6], offset .. ' ' .. epoch .. ' ' .. ARGV[2])
if ARGV[7] ~= '' and tonumber(ARGV[8]) > 0 then
  redis.call('HSET', KEYS[3], 'o', offset, 'e', epoch, 'h', ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ARGV[8])
end
return {offset, epoch}
`;

/**
 * KEYS: meta, stream. ARGV: new epoch, history size, history TTL ms, channel TTL ms,
 * since. Returns {epoch, offset, first kept offset, {offset, data, ...} after since}.
 */
export const HISTORY_SCRIPT = `${ENSURE_EPOCH}
local channel_ttl = tonumber(ARGV[4])
if channel_ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], channel_ttl)
end
local offset = tonumber(redis.call('HGET', KEYS[1], 'offset'))
local size = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local since = tonumber(ARGV[5])
local first = offset + 1
local out = {}
if size > 0 then
  local min = '-'
  if ttl > 0 then min = string.format('%.0f', now_ms() - ttl) end
  local oldest = redis.call('XRANGE', KEYS[2], min, '+', 'COUNT', 1)
  if #oldest > 0 then
    first = math.max(tonumber(oldest[1][2][2]), offset - size + 1)
  end
  if since < offset and first <= offset then
    local wanted = math.min(offset - since, size)
    local entries = redis.call('XREVRANGE', KEYS[2], '+', min, 'COUNT', wanted)
    for i = #entries, 1, -1 do
      local fields = entries[i][2]
      local o = tonumber(fields[2])
      if o > since and o >= first then
        table.insert(out, fields[2])
        table.insert(out, fields[4])
      end
    end
  end
end
return {epoch, tostring(offset), tostring(first), out}
`;

export function encodePublication(offset: number, epoch: string, data: string): string {
  return `${offset} ${epoch} ${data}`;
}

/** A pub/sub message back into a publication; undefined when it is not one of ours. */
export function decodePublication(channel: string, message: string): Publication | undefined {
  const first = message.indexOf(' ');
  const second = message.indexOf(' ', first + 1);
  if (first < 1 || second < 0) return undefined;
  const offset = Number(message.slice(0, first));
  if (!Number.isSafeInteger(offset) || offset < 1) return undefined;
  return {
    channel,
    offset,
    epoch: message.slice(first + 1, second),
    data: message.slice(second + 1),
  };
}

/**
 * A notice on a channel's topic (join/leave): "N <instance> <data>". Never a publication
 * (its first word is no offset: an instance of an older version ignores it).
 */
export function encodeNotice(from: string, data: string): string {
  return `N ${from} ${data}`;
}

export function decodeNotice(message: string): { from: string; data: string } | undefined {
  if (!message.startsWith('N ')) return undefined;
  const space = message.indexOf(' ', 2);
  if (space < 3) return undefined;
  return { from: message.slice(2, space), data: message.slice(space + 1) };
}

export function encodeClientMessage(clientId: string, data: string): string {
  return `${clientId} ${data}`;
}

export function decodeClientMessage(
  message: string,
): { clientId: string; data: string } | undefined {
  const space = message.indexOf(' ');
  if (space < 1) return undefined;
  return { clientId: message.slice(0, space), data: message.slice(space + 1) };
}
