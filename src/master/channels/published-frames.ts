import { encodeText } from '../../shared/protocol/frame';
import type { Publication } from '../broker/types';
import type { Gap } from './channel-sequence';

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
 * (workers/frames.ts writes the other JSON frames: push, position, recovery.)
 */
export class PublishedFrames {
  private text: Buffer | undefined;
  private json: Buffer | undefined;

  private constructor(
    readonly data: string,
    /** Undefined for a message sent to one client alone. */
    private readonly publication: Publication | undefined,
    /** The JSON text when it is not a publication's (a gap). */
    private readonly jsonOverride?: string,
  ) {}

  /** A gap, for JSON clients only (frame(false) must not be asked for). */
  static gap(gap: Gap): PublishedFrames {
    const { channel, epoch, from, to, reason } = gap;
    const text = JSON.stringify({ type: 'gap', channel, epoch, from, to, reason });
    return new PublishedFrames('', undefined, text);
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

  /** The frame for a client of this format (JSON objects, or plain text). */
  frame(json: boolean): Buffer {
    if (!json) return (this.text ??= encodeText(this.data));
    return (this.json ??= encodeText(this.jsonText()));
  }

  private jsonText(): string {
    if (this.jsonOverride !== undefined) return this.jsonOverride;
    const publication = this.publication;
    if (publication === undefined) return JSON.stringify({ type: 'direct', data: this.data });
    const { channel, offset, epoch, data } = publication;
    return JSON.stringify({ type: 'pub', channel, offset, epoch, data });
  }
}
