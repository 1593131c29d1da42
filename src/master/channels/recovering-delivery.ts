import type { StreamPosition } from '../../shared/ipc';
import type { HistoryResult, Publication } from '../broker/types';
import type { Gap } from './channel-sequence';

export type { StreamPosition };

/**
 * One client's deliveries while it catches up from history: no gap, no duplicate.
 *
 * A client that comes back with `?since=OFFSET&epoch=EPOCH` makes the master subscribe
 * to its channel first and read history second, so that nothing falls between the two.
 * Live publications then arrive before, during and after the history read, some of
 * them also in the history. This class buffers the live ones until the history answer
 * comes, emits the history (after `since`), then the buffered ones past what it
 * emitted, then passes live ones straight through, always dropping what the client
 * already has. Pure: the caller feeds it and sends what `deliver` is given.
 *
 * Epochs: a live publication of another epoch means the stream was lost and began
 * again (the client sees the new epoch in the frame): the delivery follows it. A
 * buffered publication of another epoch followed by one of the answer's epoch is from
 * before the loss the answer already shows, and is dropped.
 *
 * Gaps (publications the relay reports lost, see channel-sequence.ts) go the same way:
 * held while the answer is awaited, then passed on trimmed to what the client lacks, or
 * dropped when it has all of it; the position moves past them.
 */
export class RecoveringDelivery {
  private buffer: (Publication | Gap)[] | undefined = [];
  private at: StreamPosition;
  private recoveredFlag: boolean | undefined;
  private gapCount = 0;
  /** After abandon(): the next publication sets the position, whatever it is. */
  private followNext = false;

  constructor(
    readonly channel: string,
    /** What the client asked for: the last offset it has, in the epoch it knew. */
    since: StreamPosition,
    private readonly deliver: (publication: Publication) => void,
    private readonly deliverGap: (gap: Gap) => void = () => undefined,
  ) {
    this.at = { ...since };
  }

  /** Feed every live publication of the broker (others' channels are ignored). */
  live(publication: Publication): void {
    if (publication.channel !== this.channel) return;
    if (this.buffer !== undefined) this.buffer.push(publication);
    else this.pass(publication);
  }

  /** Feed every gap the relay reports (others' channels are ignored). */
  gap(gap: Gap): void {
    if (gap.channel !== this.channel) return;
    if (this.buffer !== undefined) this.buffer.push(gap);
    else this.passGap(gap);
  }

  /**
   * Feed the broker's answer to `history(channel, since.offset, since.epoch)`. Emits
   * the history and the buffered publications; returns the answer's `recovered`.
   * Not recovered: the client starts again from the channel's current position.
   */
  history(result: HistoryResult): boolean {
    if (this.buffer === undefined) throw new Error('history given twice');
    const buffered = this.buffer;
    this.buffer = undefined;
    this.recoveredFlag = result.recovered;
    if (result.recovered) {
      // Recovered: the answer's epoch is the one asked for; go on from `since`.
      for (const publication of result.publications) this.pass(publication);
    } else {
      this.at = { epoch: result.epoch, offset: result.offset };
    }
    let lastOfEpoch = -1;
    buffered.forEach((item, index) => {
      if (!isGap(item) && item.epoch === result.epoch) lastOfEpoch = index;
    });
    buffered.forEach((item, index) => {
      if (item.epoch !== result.epoch && index < lastOfEpoch) return; // before the loss
      if (isGap(item)) this.passGap(item);
      else this.pass(item);
    });
    return result.recovered;
  }

  /**
   * The history read failed (backplane down, timeout): give up recovering. Buffered and
   * later publications go through as they come, from the first one on.
   */
  abandon(): void {
    if (this.buffer === undefined) return;
    const buffered = this.buffer;
    this.buffer = undefined;
    this.recoveredFlag = false;
    this.followNext = true;
    for (const item of buffered) {
      if (isGap(item)) this.passGap(item);
      else this.pass(item);
    }
  }

  /** Still waiting for the history answer. */
  get pending(): boolean {
    return this.buffer !== undefined;
  }

  /** The answer's verdict, once it came. */
  get recovered(): boolean | undefined {
    return this.recoveredFlag;
  }

  /** The last publication delivered (or the position the answer set): what to resume from. */
  get position(): StreamPosition {
    return { ...this.at };
  }

  /** Publications known to be missed since the answer (a backplane outage): 0 when whole. */
  get gaps(): number {
    return this.gapCount;
  }

  private passGap(gap: Gap): void {
    if (this.followNext) {
      this.followNext = false;
      this.at = { epoch: gap.epoch, offset: gap.from - 1 };
    }
    let from = gap.from;
    if (gap.epoch === this.at.epoch) {
      if (gap.to <= this.at.offset) return; // the client has all of it
      from = Math.max(from, this.at.offset + 1);
    }
    this.at = { epoch: gap.epoch, offset: gap.to };
    this.gapCount += 1;
    this.deliverGap({ ...gap, from });
  }

  private pass(publication: Publication): void {
    if (this.followNext) {
      this.followNext = false;
      this.at = { epoch: publication.epoch, offset: publication.offset - 1 };
    }
    if (publication.epoch === this.at.epoch) {
      if (publication.offset <= this.at.offset) return; // already delivered
      if (publication.offset > this.at.offset + 1) this.gapCount += 1;
    } else if (publication.offset !== 1) {
      this.gapCount += 1; // a new epoch whose start we did not see
    }
    this.at = { epoch: publication.epoch, offset: publication.offset };
    this.deliver(publication);
  }
}

function isGap(item: Publication | Gap): item is Gap {
  return 'reason' in item;
}
