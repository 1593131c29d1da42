import type { StreamPosition } from '../../shared/ipc';
import type { HistoryResult, Publication } from '../broker/types';

/**
 * Why publications of a channel will never reach this instance's clients:
 * - 'offset too old': the history no longer holds them (size, TTL, memory bounds);
 * - 'history off': --history 0, nothing to fill a hole from;
 * - 'history unavailable': the history could not be read for GIVE_UP_MS (or too much
 *   arrived meanwhile) while the backplane was up;
 * - 'not in history': the history answered, but without them (Redis lost writes).
 */
export type GapReason = 'offset too old' | 'history off' | 'history unavailable' | 'not in history';

/** Publications `from`..`to` (inclusive) of `epoch` of a channel, lost for good. */
export interface Gap {
  channel: string;
  epoch: string;
  from: number;
  to: number;
  reason: GapReason;
}

export interface SequenceSink {
  /** The next publication of the channel, in order, never twice. */
  publication(publication: Publication): void;
  gap(gap: Gap): void;
}

/** The I/O a sequence needs, injected (the relay passes the broker's). */
export interface SequenceIo {
  /** The broker's history after `since` (rejects when it cannot be read). */
  read(channel: string, since: StreamPosition): Promise<HistoryResult>;
  /** True while the backplane is down: a failed read then waits for resume(). */
  isDown(): boolean;
  /** Calls back once after a short delay (a failed read while the backplane is up). */
  later(callback: () => void, ms: number): void;
  now(): number;
  warn(message: string): void;
  info(message: string): void;
}

/** Publications held while a read is under way, at most; past it the read is given up. */
export const MAX_HELD = 10_000;
/** Reads one fill may take (an epoch change, a trimmed range) before it settles. */
export const MAX_READS = 4;
/** How long a fill may fail to read while the backplane is up before it reports a gap. */
export const GIVE_UP_MS = 15_000;
/** Pause between reads that failed while the backplane was up. */
export const RETRY_MS = 500;

type Phase = 'idle' | 'reading' | 'waiting';

/**
 * One channel's live publications as this instance relays them: in offset order, each
 * once, with holes filled from history. It knows the last offset relayed in the current
 * epoch. A publication that skips ahead (and every resume after a backplane outage)
 * makes it read the history after that offset: what the history holds is relayed, in
 * order, before anything that followed; what it no longer holds is reported as a gap,
 * never skipped silently. Duplicates (offset <= the last relayed) are dropped. One read
 * per channel, whatever the number of clients. Pure apart from the injected I/O.
 *
 * A publication of another epoch means the channel's stream began again (Redis lost its
 * data, or the channel was idle long enough to expire): if it does not start at 1, the
 * new epoch's beginning is read from history too. What the old epoch had after the last
 * relayed offset cannot be known; clients see the epoch change in the next frame.
 */
export class ChannelSequence {
  private last: StreamPosition | undefined;
  private phase: Phase = 'idle';
  private held: Publication[] = [];
  /** A resume came while a read was under way: read again after it. */
  private again = false;
  private reads = 0;
  private failingSince: number | undefined;
  /** Bumped by each read and each give-up: a stale answer is ignored. */
  private generation = 0;
  private closed = false;
  /** Counters, for tests and logs. */
  readonly stats = { fills: 0, filled: 0, duplicates: 0, gaps: 0 };

  constructor(
    readonly channel: string,
    private readonly sink: SequenceSink,
    private readonly io: SequenceIo,
  ) {}

  /** The last publication relayed (or the start a read gave): undefined before either. */
  get position(): StreamPosition | undefined {
    return this.last === undefined ? undefined : { ...this.last };
  }

  get filling(): boolean {
    return this.phase !== 'idle';
  }

  /**
   * Where the channel stood, by a read made after the subscription (a client's position
   * or recovery): the start, when no publication came yet.
   */
  baseline(position: StreamPosition): void {
    if (this.last === undefined && !this.closed) this.last = { ...position };
  }

  /** A publication the broker delivered live. */
  live(publication: Publication): void {
    if (this.closed) return;
    if (this.phase !== 'idle') return this.hold(publication);
    this.take(publication, 'fill');
  }

  /** The backplane is back: read what may have been published meanwhile. */
  resume(): void {
    if (this.closed || this.last === undefined) return;
    switch (this.phase) {
      case 'idle':
        return this.fill();
      case 'reading':
        this.again = true;
        return;
      case 'waiting':
        return this.read();
    }
  }

  /** No client of this channel is left: answers still under way are ignored. */
  close(): void {
    this.closed = true;
    this.held = [];
  }

  /**
   * One publication while idle. `read`: what a hole leads to: a new fill (a live one), a
   * further read of the fill under way (a held one, replayed after a read that did not
   * cover it: some were lost meanwhile), or none (the reads are spent): then the hole is
   * reported with `reason`.
   */
  private take(publication: Publication, read: 'fill' | 'more' | 'none', reason?: GapReason): void {
    const last = this.last;
    if (last === undefined) return this.relay(publication);
    if (publication.epoch === last.epoch) {
      if (publication.offset <= last.offset) {
        this.stats.duplicates += 1;
        return;
      }
      if (publication.offset === last.offset + 1) return this.relay(publication);
      if (read === 'none') {
        this.report(
          last.epoch,
          last.offset + 1,
          publication.offset - 1,
          reason ?? 'not in history',
        );
        return this.relay(publication);
      }
    } else if (publication.offset === 1) {
      return this.relay(publication);
    } else if (read === 'none') {
      // A new epoch not from its start, and no more reads: its beginning is lost.
      this.report(publication.epoch, 1, publication.offset - 1, reason ?? 'not in history');
      return this.relay(publication);
    } else {
      // A new epoch not from its start: read it from 0.
      this.last = { epoch: publication.epoch, offset: 0 };
    }
    this.held.push(publication);
    if (read === 'fill') this.fill();
    else this.read();
  }

  private hold(publication: Publication): void {
    this.held.push(publication);
    if (this.held.length > MAX_HELD) this.giveUp(`over ${MAX_HELD} publications arrived meanwhile`);
  }

  private fill(): void {
    this.stats.fills += 1;
    this.reads = 0;
    this.read();
  }

  private read(): void {
    const since = this.last as StreamPosition;
    this.phase = 'reading';
    this.again = false;
    this.reads += 1;
    const generation = ++this.generation;
    this.io.read(this.channel, { ...since }).then(
      (result) => {
        if (generation === this.generation && !this.closed) this.answer(result);
      },
      (error: unknown) => {
        if (generation === this.generation && !this.closed) this.failed(error);
      },
    );
  }

  private answer(result: HistoryResult): void {
    this.failingSince = undefined;
    const last = this.last as StreamPosition;
    const more = this.reads < MAX_READS;
    if (result.recovered) {
      const before = last.offset;
      for (const publication of result.publications) this.take(publication, 'none');
      const after = (this.last as StreamPosition).offset;
      if (after > before) {
        this.stats.filled += after - before;
        this.io.info(
          `Channel ${this.channel}: ${after - before} publication(s) missed live ` +
            `(${before + 1}-${after}) read back from history`,
        );
      }
      return this.settle();
    }
    switch (result.reason) {
      case 'epoch changed': {
        // The stream the last offset belonged to is gone: what was held of it goes
        // first (holes in it reported), then the new epoch is read from its start.
        this.replayHeld(
          (publication) => publication.epoch === last.epoch,
          'none',
          'not in history',
        );
        this.last = { epoch: result.epoch, offset: 0 };
        if (result.offset > 0 && more) return this.read();
        return this.settle();
      }
      case 'offset too old': {
        const firstKept = result.firstKept ?? result.offset + 1;
        this.report(last.epoch, last.offset + 1, firstKept - 1, 'offset too old');
        this.last = { epoch: last.epoch, offset: Math.max(last.offset, firstKept - 1) };
        if (firstKept <= result.offset && more) return this.read();
        return this.settle('offset too old');
      }
      case 'offset ahead':
        // Redis went back in time (restored from an older file): follow its counter.
        this.io.warn(
          `Channel ${this.channel}: Redis is at offset ${result.offset}, behind the ` +
            `${last.offset} already relayed; following it`,
        );
        this.last = { epoch: result.epoch, offset: result.offset };
        return this.settle();
      case 'history off':
        return this.settle('history off');
    }
  }

  private failed(error: unknown): void {
    const now = this.io.now();
    this.failingSince ??= now;
    this.phase = 'waiting';
    if (this.io.isDown()) return; // resume() reads again once the backplane is back
    if (now - this.failingSince >= GIVE_UP_MS) {
      return this.giveUp(`history unreadable: ${(error as Error).message}`);
    }
    const generation = this.generation;
    this.io.later(() => {
      if (generation === this.generation && this.phase === 'waiting' && !this.closed) this.read();
    }, RETRY_MS);
  }

  /** Stops waiting for the history: the holes before what is held are reported. */
  private giveUp(why: string): void {
    this.generation += 1;
    this.failingSince = undefined;
    this.io.warn(`Channel ${this.channel}: gave up filling a hole (${why})`);
    this.settle('history unavailable');
  }

  /** The read is done: what was held goes out, holes in it reported with `reason`. */
  private settle(reason?: GapReason): void {
    if (this.again) {
      this.again = false;
      return this.fill();
    }
    this.phase = 'idle';
    // After a read that answered, one more may fill a hole it left; after a give-up, none.
    const more = reason !== 'history unavailable' && this.reads < MAX_READS;
    this.replayHeld(() => true, more ? 'more' : 'none', reason);
  }

  /** Takes the held publications `which` selects, until one starts a read (the rest wait). */
  private replayHeld(
    which: (publication: Publication) => boolean,
    read: 'more' | 'none',
    reason?: GapReason,
  ): void {
    const held = this.held;
    this.held = [];
    const idle = this.phase === 'idle';
    for (const publication of held) {
      if (!which(publication) || (idle && this.phase !== 'idle')) this.held.push(publication);
      else this.take(publication, read, reason);
    }
  }

  private relay(publication: Publication): void {
    this.last = { epoch: publication.epoch, offset: publication.offset };
    this.sink.publication(publication);
  }

  private report(epoch: string, from: number, to: number, reason: GapReason): void {
    if (from > to) return;
    this.stats.gaps += 1;
    this.sink.gap({ channel: this.channel, epoch, from, to, reason });
  }
}
