import type { FrameFormat, StreamPosition } from '../../shared/ipc';
import { normaliseChannel } from '../../shared/channel-name';
import { RefusalCode } from '../../shared/protocol/reasons';
import { fail, ok, type Result } from '../../shared/result';
import { parseSseEventId } from '../../shared/protocol/sse';

/** What a WebSocket request's URL asks for: its channel, its format, where it was. */
export interface SubscriptionRequest {
  channel: string;
  format: FrameFormat;
  /** ?since=OFFSET&epoch=EPOCH: a returning client's last position. */
  since?: StreamPosition;
  /** ?presence=1 (JSON clients): join and leave frames of its channel. */
  presence?: true;
}

/** Why a request target is no channel request (the upgrade refuses it with 400). */
export interface BadSubscription {
  code: typeof RefusalCode.BadChannel | typeof RefusalCode.BadRequest;
  reason: string;
}

const bad = (reason: string): Result<never, BadSubscription> =>
  fail({ code: RefusalCode.BadRequest, reason });

/** Longest epoch a client may send back (ours are far shorter). */
const MAX_EPOCH_CHARS = 64;

/**
 * Reads the channel (the path as sent, normalised: a URL parser would have resolved
 * `..` away), `format=json|text`, and `since` with `epoch` (both or neither) from a
 * request target. Pure; a failure says what is wrong.
 */
export function subscriptionRequest(target: string): Result<SubscriptionRequest, BadSubscription> {
  let url: URL;
  try {
    url = new URL(target, 'http://localhost');
  } catch {
    return bad('Malformed request target');
  }
  const rawPath = target.startsWith('/') ? target.split(/[?#]/, 1)[0] : url.pathname;
  const named = normaliseChannel(rawPath);
  if (!named.ok) {
    return fail({ code: RefusalCode.BadChannel, reason: `Bad channel: ${named.error}` });
  }
  const channel = named.value;
  const query = url.searchParams;
  const format = query.get('format') ?? 'text';
  if (format !== 'text' && format !== 'json') return bad('format must be json or text');
  const presence = query.get('presence');
  if (presence !== null && presence !== '0' && presence !== '1') {
    return bad('presence must be 1 or 0');
  }
  // Join and leave frames are JSON objects: a plain-text client could not tell them apart.
  if (presence === '1' && format !== 'json') return bad('presence=1 needs format=json');
  const wanted: SubscriptionRequest =
    presence === '1' ? { channel, format, presence: true } : { channel, format };
  const since = query.get('since');
  const epoch = query.get('epoch');
  if (since === null && epoch === null) return ok(wanted);
  if (since === null || epoch === null) return bad('since and epoch go together');
  if (!/^\d{1,15}$/.test(since)) return bad('since must be an offset (a whole number)');
  if (epoch.length > MAX_EPOCH_CHARS || !/^[\w.-]*$/.test(epoch)) {
    return bad('epoch is not one this server gives');
  }
  return ok({ ...wanted, since: { offset: Number(since), epoch } });
}

/**
 * The same for a client of a command (--exec, --dir): the URL belongs to the command
 * (its PATH_INFO and QUERY_STRING, as websocketd passes any), so nothing in it is
 * refused here. The channel is the path's when that is a channel name, else the root
 * channel; format and since are as asked when the query is a valid channel request,
 * else text frames from now on.
 */
export function commandSubscription(target: string): SubscriptionRequest {
  const wanted = subscriptionRequest(target);
  if (wanted.ok) return wanted.value;
  const channel = normaliseChannel(target.split(/[?#]/, 1)[0]);
  return { channel: channel.ok ? channel.value : '/', format: 'text' };
}

/**
 * What an event-stream request (SSE) asks for: as subscriptionRequest (or
 * commandSubscription, for a command's client), with JSON data always (`format=text`
 * is refused: an event's data is the JSON object, whose `type` the event also names),
 * and where it was: the `Last-Event-ID` header (a browser's reconnect), else
 * `?lastEventId=` (tools), else `?since=&epoch=`. The header wins: a browser reconnects
 * to the URL it first had, which may carry an older position.
 */
export function sseSubscription(
  target: string,
  lastEventId: string | undefined,
  commands = false,
): Result<SubscriptionRequest, BadSubscription> {
  let wanted: SubscriptionRequest;
  if (commands) wanted = commandSubscription(target);
  else {
    const asked = subscriptionRequest(target);
    if (!asked.ok) return asked;
    wanted = asked.value;
  }
  const query = new URL(target, 'http://localhost').searchParams;
  if (!commands && query.get('format') === 'text') {
    return bad('an event stream carries JSON data: format=text is not offered');
  }
  const id = lastEventId?.trim() || query.get('lastEventId') || undefined;
  if (id === undefined) return ok({ ...wanted, format: 'json' });
  const since = parseSseEventId(id);
  if ('error' in since) return bad(since.error);
  return ok({ channel: wanted.channel, format: 'json', since });
}
