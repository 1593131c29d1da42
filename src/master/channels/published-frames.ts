import { assertNever } from '../../shared/assert-never';
import { BROADCAST_CHANNEL } from '../../shared/channel-name';
import { encodeText } from '../../shared/protocol/frame';
import { encodeSseEvent, sseEventId, type SseEvent } from '../../shared/protocol/sse';
import type { Publication } from '../broker/types';
import type { Gap } from './channel-sequence';

/** How a feed's client takes publications: text frames, JSON frames, or SSE events. */
export type FeedFormat = 'text' | 'json' | 'sse';

/** The frames of each publication object, while the publication lives. */
const ofPublication = new WeakMap<Publication, PublishedFrames>();

/**
 * One published message as its clients get it: the complete WebSocket text frame, built
 * once per publication and format, not once per client, and written as it is on each
 * worker's publish pipe (src/shared/publish-stream.ts). Formats:
 *
 *   plain text            the message alone, as the original
 *   JSON (?format=json)   {"type":"pub","channel":…,"offset":…,"epoch":…,"data":…} for a
 *                         publication to a channel (`channel` "*" for every channel),
 *                         {"type":"direct","data":…} for a message to one client alone,
 *                         {"type":"gap","channel":…,"epoch":…,"from":…,"to":…,"reason":…}
 *                         for publications from..to of the epoch that will never come
 *                         (plain-text clients get no frame for a gap: see ClientFeed)
 *
 * An event-stream (SSE) client gets the JSON text as one event (`id: EPOCH:OFFSET` on a
 * publication and a gap, `event:` its type; src/shared/protocol/sse.ts), carried on the
 * publish pipe inside a text frame of its own, which its worker unwraps.
 *
 * (workers/frames.ts writes the other JSON frames: push, position, recovery.)
 */
export class PublishedFrames {
  private text: Buffer | undefined;
  private json: Buffer | undefined;
  private sse: Buffer | undefined;

  private constructor(
    readonly data: string,
    /** Undefined for a message sent to one client alone. */
    private readonly publication: Publication | undefined,
    /** The JSON text when it is not a publication's (a gap). */
    private readonly jsonOverride?: string,
    /** The event id of a gap (the position past it). */
    private readonly gapId?: string,
  ) {}

  /** A gap, for JSON clients only (frame(false) must not be asked for). */
  static gap(gap: Gap): PublishedFrames {
    const { channel, epoch, from, to, reason } = gap;
    const text = JSON.stringify({ type: 'gap', channel, epoch, from, to, reason });
    const id = channel === BROADCAST_CHANNEL ? undefined : sseEventId({ epoch, offset: to });
    return new PublishedFrames('', undefined, text, id);
  }

  /**
   * A notice for JSON clients (frame(false) must not be asked for): a join or leave
   * frame, `json` its whole text. It carries no offset: it is not history.
   */
  static notice(json: string): PublishedFrames {
    return new PublishedFrames('', undefined, json);
  }

  /**
   * A publication to a channel (or to every channel): one instance per publication
   * object, so the relay's fan-out and a recovering client's delivery share its frames.
   */
  static of(publication: Publication): PublishedFrames {
    let frames = ofPublication.get(publication);
    if (frames === undefined) {
      frames = new PublishedFrames(publication.data, publication);
      ofPublication.set(publication, frames);
    }
    return frames;
  }

  /** A message published to one client alone. */
  static direct(data: string): PublishedFrames {
    return new PublishedFrames(data, undefined);
  }

  /** The frame for a client of this format (plain text, JSON objects, SSE events). */
  frame(format: FeedFormat): Buffer {
    switch (format) {
      case 'text':
        return (this.text ??= encodeText(this.data));
      case 'json':
        return (this.json ??= encodeText(this.jsonText()));
      case 'sse':
        return (this.sse ??= encodeText(encodeSseEvent(this.sseEvent())));
      default:
        return assertNever(format);
    }
  }

  private sseEvent(): SseEvent {
    const data = this.jsonText();
    if (this.jsonOverride !== undefined) return { id: this.gapId, event: 'gap', data };
    const publication = this.publication;
    if (publication === undefined) return { event: 'direct', data };
    // A broadcast's offsets are its own stream's: as an id it would lose the channel's place.
    if (publication.channel === BROADCAST_CHANNEL) return { event: 'pub', data };
    return { id: sseEventId(publication), event: 'pub', data };
  }

  private jsonText(): string {
    if (this.jsonOverride !== undefined) return this.jsonOverride;
    const publication = this.publication;
    if (publication === undefined) return JSON.stringify({ type: 'direct', data: this.data });
    const { channel, offset, epoch, data } = publication;
    return JSON.stringify({ type: 'pub', channel, offset, epoch, data });
  }
}
