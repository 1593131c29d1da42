import type { HistoryResult, Publication } from './types';

/**
 * What both brokers know of a channel when a client asks for history: its epoch, its
 * last offset, the oldest offset still kept, and the kept publications after the
 * client's offset. One rule for both implementations. Pure.
 */
export interface ChannelHistory {
  epoch: string;
  /** The last offset given out in this epoch (0: none yet). */
  offset: number;
  /** The oldest offset still kept; `offset + 1` when none is kept. */
  firstKept: number;
  /** Kept publications with offset > since, in any order. */
  after: Publication[];
}

export function answerHistory(
  history: ChannelHistory,
  since: number,
  epoch: string,
  historyOn: boolean,
): HistoryResult {
  const { offset } = history;
  const current = { epoch: history.epoch, offset };
  if (!historyOn) return { recovered: false, reason: 'history off', ...current };
  if (epoch !== history.epoch) return { recovered: false, reason: 'epoch changed', ...current };
  if (since > offset) return { recovered: false, reason: 'offset ahead', ...current };
  if (since + 1 < history.firstKept) {
    return { recovered: false, reason: 'offset too old', ...current, firstKept: history.firstKept };
  }
  const publications = history.after
    .filter((publication) => publication.offset > since)
    .sort((a, b) => a.offset - b.offset);
  return { recovered: true, ...current, publications };
}

/** A client's offset must be a whole number >= 0 (the HTTP layer checks `?since=`). */
export function checkSince(since: number): void {
  if (!Number.isSafeInteger(since) || since < 0) {
    throw new RangeError(`history offset must be a whole number >= 0, not ${since}`);
  }
}
