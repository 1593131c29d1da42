/**
 * What one frame of the server means to a client of a channel, read against where the
 * client stands in that channel (its last epoch and offset). Pure: text and position
 * in, a reading and the new position out; no socket, no clock.
 *
 * The server's JSON frames (?format=json):
 *   {"type":"push","data":D}                      the hello, demo pushes, command output
 *   {"type":"direct","data":D}                    a message to this client alone
 *   {"type":"pub","channel":C,"epoch":E,"offset":N,"data":D}   a publication
 *       (channel "*": a broadcast to every channel, with offsets of its own)
 *   {"type":"position","channel":C,"epoch":E,"offset":N}       where a new client starts
 *   {"type":"recovery","recovered":B,"count":N[,"reason":R],"channel":C,"epoch":E,"offset":N}
 *   {"type":"gap","channel":C,"epoch":E,"from":A,"to":B,"reason":R}
 *       publications A..B of epoch E will never arrive; go on
 */

/** Where a client stands in its channel: the last offset it has, in the stream's epoch. */
export interface Position {
  epoch: string;
  offset: number;
}

export type Reading =
  /** A push (also a frame that is not JSON, e.g. plain text). */
  | { kind: 'push'; data: string }
  | { kind: 'direct'; data: string }
  /**
   * A publication to be delivered: of this channel (the position moved to it;
   * `restarted` when its epoch is not the one the client had: the stream began again),
   * or a broadcast or another channel's (the position kept).
   */
  | {
      kind: 'pub';
      channel: string;
      epoch: string;
      offset: number;
      data: string;
      restarted: boolean;
    }
  /** A publication of this channel at or before the position: already delivered. */
  | { kind: 'duplicate'; channel: string; epoch: string; offset: number }
  /**
   * A publication of this channel whose offset skips past the next one (same epoch):
   * `from`..`to` are missing. Not delivered, the position kept: come back with `since`
   * and the server replays from the position on, this publication included.
   */
  | { kind: 'skipped'; channel: string; epoch: string; from: number; to: number; offset: number }
  | { kind: 'position'; channel: string; epoch: string; offset: number }
  | {
      kind: 'recovery';
      recovered: boolean;
      count: number;
      /** Why not, when not recovered ("epoch changed", ...). */
      reason: string | undefined;
    }
  /** The server says `from`..`to` of `epoch` will never arrive. */
  | { kind: 'gap'; channel: string; epoch: string; from: number; to: number; reason: string }
  /** A JSON frame of a type this client does not know (a newer server): its text. */
  | { kind: 'other'; text: string };

export interface Read {
  reading: Reading;
  /** The position after this frame. */
  position: Position | null;
}

type Frame = Record<string, unknown>;

const isOffset = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function positionOf(frame: Frame): Position | null {
  return typeof frame.epoch === 'string' && isOffset(frame.offset)
    ? { epoch: frame.epoch, offset: frame.offset }
    : null;
}

function parse(text: string): Frame | null {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const frame = value as Frame;
      if (typeof frame.type === 'string') return frame;
    }
  } catch {
    // Not JSON: a plain-text frame.
  }
  return null;
}

/** Reads one text frame of a client of `channel` that stands at `position`. */
export function readFrame(text: string, channel: string, position: Position | null): Read {
  const frame = parse(text);
  if (frame === null) return { reading: { kind: 'push', data: text }, position };
  const data = typeof frame.data === 'string' ? frame.data : '';
  const keep = (reading: Reading): Read => ({ reading, position });
  switch (frame.type) {
    case 'push':
      return keep({ kind: 'push', data });
    case 'direct':
      return keep({ kind: 'direct', data });
    case 'pub':
      return readPub(frame, data, channel, position, text);
    case 'position': {
      const at = positionOf(frame);
      if (at === null) break;
      return { reading: { kind: 'position', channel, ...at }, position: at };
    }
    case 'recovery': {
      const recovered = frame.recovered === true;
      const count = isOffset(frame.count) ? frame.count : 0;
      const reason = recovered
        ? undefined
        : typeof frame.reason === 'string'
          ? frame.reason
          : 'unknown reason';
      // Recovered: the replayed publications follow this frame, and its offset is past
      // them: keep ours until they come. Not recovered: the channel's position now.
      const next = recovered ? (position ?? positionOf(frame)) : (positionOf(frame) ?? position);
      return { reading: { kind: 'recovery', recovered, count, reason }, position: next };
    }
    case 'gap':
      return readGap(frame, channel, position, text);
  }
  return keep({ kind: 'other', text });
}

function readPub(
  frame: Frame,
  data: string,
  channel: string,
  position: Position | null,
  text: string,
): Read {
  const at = positionOf(frame);
  if (typeof frame.channel !== 'string' || at === null) {
    return { reading: { kind: 'other', text }, position };
  }
  const pub = { channel: frame.channel, epoch: at.epoch, offset: at.offset };
  if (frame.channel !== channel) {
    return { reading: { kind: 'pub', ...pub, data, restarted: false }, position };
  }
  if (position !== null && position.epoch === at.epoch) {
    if (at.offset <= position.offset) return { reading: { kind: 'duplicate', ...pub }, position };
    if (at.offset > position.offset + 1) {
      const missing = { from: position.offset + 1, to: at.offset - 1 };
      return { reading: { kind: 'skipped', ...pub, ...missing }, position };
    }
  }
  const restarted = position !== null && position.epoch !== at.epoch;
  return { reading: { kind: 'pub', ...pub, data, restarted }, position: at };
}

function readGap(frame: Frame, channel: string, position: Position | null, text: string): Read {
  const { epoch, from, to } = frame;
  if (typeof epoch !== 'string' || !isOffset(from) || !isOffset(to) || to < from) {
    return { reading: { kind: 'other', text }, position };
  }
  const reason = typeof frame.reason === 'string' ? frame.reason : 'unknown reason';
  const gap = { kind: 'gap' as const, channel, epoch, from, to, reason };
  if (frame.channel !== undefined && frame.channel !== channel) {
    const named = typeof frame.channel === 'string' ? frame.channel : JSON.stringify(frame.channel);
    return { reading: { ...gap, channel: named }, position };
  }
  // Those publications will never come: stand past them, so that the next one, to+1,
  // follows on. A gap that starts further on leaves a hole before it: kept, so that
  // the publication after it is seen as skipped and recovered.
  let next = position;
  if (position === null) next = { epoch, offset: to };
  else if (position.epoch === epoch && from <= position.offset + 1 && to > position.offset) {
    next = { epoch, offset: to };
  }
  return { reading: gap, position: next };
}
