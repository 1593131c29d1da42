/**
 * The bytes of one message being assembled, held in ONE growable buffer. A peer
 * decides how its bytes are cut into TCP segments and frames: kept as one Buffer per
 * piece, a 1 MiB message sent one byte at a time would cost a million Buffer objects
 * (~100 bytes of overhead each). Here memory stays O(bytes): the capacity at most
 * doubles past what arrived (and never passes `limit`), and each byte is copied
 * about twice at most (amortised), whatever the cut. Pure: no I/O.
 */
export class MessageBuffer {
  /** The smallest capacity worth growing to: tiny pieces do not reallocate each time. */
  static readonly MIN_CAPACITY = 256;

  private store: Buffer | undefined;
  private used = 0;

  /** `limit`: the most bytes a message may hold (the receiver checks it before appending). */
  constructor(private readonly limit: number) {}

  /** Bytes held. */
  get length(): number {
    return this.used;
  }

  /** Bytes allocated (for tests: memory stays within a small factor of `length`). */
  get capacity(): number {
    return this.store?.length ?? 0;
  }

  /** Buffers held: 0 or 1, however the message arrived. */
  get pieces(): number {
    return this.store === undefined ? 0 : 1;
  }

  /**
   * Appends `piece`, taking ownership of it: the first piece of a message is kept as
   * it is (the usual one-chunk message is never copied again), so the caller must not
   * reuse it.
   */
  append(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.store === undefined) {
      this.store = piece;
      this.used = piece.length;
      return;
    }
    const needed = this.used + piece.length;
    if (needed > this.store.length) this.grow(needed);
    piece.copy(this.store, this.used);
    this.used = needed;
  }

  /** Returns the message and empties the buffer for the next one. */
  take(): Buffer {
    const message = this.store?.subarray(0, this.used) ?? Buffer.alloc(0);
    this.clear();
    return message;
  }

  clear(): void {
    this.store = undefined;
    this.used = 0;
  }

  private grow(needed: number): void {
    const doubled = Math.max(2 * (this.store?.length ?? 0), MessageBuffer.MIN_CAPACITY);
    const capacity = Math.max(needed, Math.min(doubled, this.limit));
    const grown = Buffer.allocUnsafe(capacity);
    this.store?.copy(grown, 0, 0, this.used);
    this.store = grown;
  }
}
