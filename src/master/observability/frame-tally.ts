/**
 * Turns the running frame counts workers report (one total per worker, in report rounds
 * and in their goodbye) into increments of one monotonic counter. A worker's count only
 * grows; what it had reported stays counted after it exits, so the sum never goes back
 * when a client leaves. Pure: no I/O.
 */
export class FrameTally<Key> {
  private readonly last = new Map<Key, number>();

  /** `add` is called with each increase (the metrics counter's inc). */
  constructor(private readonly add: (count: number) => void) {}

  /** A worker's total so far; an older (smaller) report changes nothing. */
  update(key: Key, total: number): void {
    if (!Number.isFinite(total)) return;
    const before = this.last.get(key) ?? 0;
    if (total <= before) return;
    this.last.set(key, total);
    this.add(total - before);
  }

  /** The worker is gone: its frames stay counted, its entry goes. */
  forget(key: Key): void {
    this.last.delete(key);
  }

  /** Workers tracked (for tests: nothing leaks as workers come and go). */
  get size(): number {
    return this.last.size;
  }
}
