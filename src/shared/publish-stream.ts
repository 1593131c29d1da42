/**
 * The publish pipe: what POST /publish (and every channel publication) sends a worker
 * travels apart from the IPC channel, on a pipe of its own, as the very bytes its client
 * gets: complete, unmasked WebSocket text frames in the client's format, framed once per
 * publication by the master (src/master/channels/published-frames.ts). The worker writes
 * them to its socket as they are (no JSON to parse, nothing to encode), whole frames
 * only, so that its own frames (pings, pongs, pushes, close) never fall inside one.
 *
 * Measured (scripts/bench/investigations/fanout-pair.ts): a worker's CPU per publication is most of a
 * fan-out's cost, and reading this pipe into one reused buffer costs a worker about
 * half of what an IPC message does (no 64 KiB buffer per read, no JSON, no stream).
 */

import { unmaskedFrameLength } from './protocol/frame';

/** The pipe's file descriptor in the worker (its index in the fork's `stdio`). */
export const PUBLISH_FD = 4;

/**
 * A record for the worker alone, dropped, never written to its client: any record whose
 * first byte is 0 (a frame the master never writes: it sends whole text frames). The
 * master writes this one right after the hand-off, so that the worker's read path runs
 * once (V8 compiles it, about 0.1 ms) while its client is new, and not in every worker
 * at once at the first publication.
 */
export const WAKE_RECORD: Readonly<Buffer> = Buffer.from([0x00, 0x00]);

/**
 * A copy of bytes[start, end) (the read buffer is reused). Typed-array built-ins only:
 * Buffer's own subarray is JavaScript V8 would compile in every worker at its first
 * publication.
 */
function copyOf(bytes: Buffer, start: number, end: number): Buffer {
  const copy = Buffer.allocUnsafe(end - start);
  copy.set(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start));
  return copy;
}

/**
 * The worker's side: cuts the pipe's byte stream back into whole frames. Each call of
 * `push` hands `onFrames` the complete frames the bytes read so far end (copied: the
 * read buffer is reused) and how many they are; a frame cut by a read waits for the
 * rest. A wake record comes out as no frame (an empty buffer, count 0): nothing to
 * write, but the whole path runs, down to the worker's socket write (of no byte). The master writes only whole frames, so a split is rare (a frame over the
 * read buffer, or a read that caught a write half done).
 */
export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The first pending frame's total length, once its header is in (else 0). */
  private needed = 0;

  constructor(
    private readonly onFrames: (frames: Buffer, count: number) => void,
    /**
     * Worker records with a payload (the control socket's messages after a hot upgrade,
     * src/shared/control-channel.ts), whole; without it they count as wake records.
     */
    private readonly onRecord?: (record: Buffer) => void,
  ) {}

  /** Bytes just read: `bytes[0, length)`, valid only during the call. */
  push(bytes: Buffer, length = bytes.length): void {
    if (this.pendingBytes === 0) {
      this.cut(bytes, length);
      return;
    }
    this.pending.push(copyOf(bytes, 0, length));
    this.pendingBytes += length;
    if (this.needed === 0) {
      // The frame's header itself was cut: it is whole once a few more bytes are in.
      const head = this.joined();
      this.pending = [head];
      this.needed = Math.max(0, unmaskedFrameLength(head, 0, head.length));
      if (this.needed === 0) return;
    }
    if (this.pendingBytes < this.needed) return;
    const joined = this.joined();
    this.pending = [];
    this.pendingBytes = 0;
    this.needed = 0;
    this.cut(joined, joined.length);
  }

  /** Bytes waiting for the rest of their frame. */
  get waiting(): number {
    return this.pendingBytes;
  }

  private emit(bytes: Buffer, start: number, end: number, count: number): void {
    if (count > 0) this.onFrames(copyOf(bytes, start, end), count);
  }

  private joined(): Buffer {
    return this.pending.length === 1
      ? this.pending[0]
      : Buffer.concat(this.pending, this.pendingBytes);
  }

  /** Emits the whole frames at the start of `bytes`, keeps the rest. */
  private cut(bytes: Buffer, length: number): void {
    let start = 0;
    let end = 0;
    let count = 0;
    for (;;) {
      const size = unmaskedFrameLength(bytes, end, length);
      if (size < 0 || end + size > length) break;
      if (bytes[end] === 0) {
        // A wake record: the frames before it, then no frame.
        this.emit(bytes, start, end, count);
        if (this.onRecord !== undefined && size > 2) this.onRecord(copyOf(bytes, end, end + size));
        // (An empty copy rather than a constant: copyOf runs, and is compiled, here too.)
        else this.onFrames(copyOf(bytes, end, end), 0);
        start = end + size;
        count = 0;
      } else {
        count++;
      }
      end += size;
    }
    this.emit(bytes, start, end, count);
    if (end === length) return;
    const rest = copyOf(bytes, end, length);
    this.pending = [rest];
    this.pendingBytes = rest.length;
    this.needed = Math.max(0, unmaskedFrameLength(rest, 0, rest.length));
  }
}
