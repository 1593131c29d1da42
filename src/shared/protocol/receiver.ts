import { isValidCloseCode } from './close-codes';
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode } from './constants';
import { unmaskInPlace } from './frame';
import { MessageBuffer } from './message-buffer';
import { Utf8Validator, isValidUtf8 } from './utf8';

/**
 * What a peer's bytes meant. A protocol error is one of these values, carrying the
 * close code to answer with; the receiver never throws across layers.
 */
export type ReceiverEvent =
  | { type: 'text'; text: string }
  | { type: 'binary'; data: Buffer }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'close'; code?: number; reason: string }
  | { type: 'error'; code: number; reason: string };

export interface ReceiverOptions {
  /** Largest message (all fragments together) accepted, in bytes; larger is 1009. */
  maxMessageSize: number;
  /** Clients must mask every frame (RFC 6455, section 5.1). Default true: the server side. */
  expectMasked?: boolean;
}

type State = 'info' | 'length16' | 'length64' | 'mask' | 'data';

/**
 * Unconsumed input chunks held at most before they are joined into one. Only a frame
 * header or a control frame's payload (125 bytes at most) ever waits for more input,
 * so joining them is cheap; it keeps a peer that sends one byte per segment from
 * making us hold one Buffer per byte.
 */
export const MAX_INPUT_PIECES = 16;

/**
 * The frame decoder: a small state machine fed arbitrary chunks of a byte stream.
 * Each state is one method that either consumes what it needs and moves on, or
 * returns false to wait for more bytes. Pure: bytes in, events out, no I/O.
 *
 * It stops for good after a close frame or an error; later bytes are ignored.
 */
export class Receiver {
  private readonly maxMessageSize: number;
  private readonly expectMasked: boolean;

  private chunks: Buffer[] = [];
  private buffered = 0;
  private state: State = 'info';
  private finished = false;
  private events: ReceiverEvent[] = [];

  // The frame being read.
  private fin = false;
  private opcode = 0;
  private masked = false;
  private mask: Buffer = Buffer.alloc(4);
  private payloadLength = 0;
  private payloadRead = 0;

  // The data message being assembled (possibly from many fragments), in one buffer.
  private messageOpcode: Opcode.Text | Opcode.Binary | undefined;
  private readonly message: MessageBuffer;
  private messageLength = 0;
  private readonly utf8 = new Utf8Validator();

  constructor(options: ReceiverOptions) {
    this.maxMessageSize = options.maxMessageSize;
    this.expectMasked = options.expectMasked ?? true;
    this.message = new MessageBuffer(this.maxMessageSize);
  }

  /** True once a close frame or a protocol error has been seen. */
  get isFinished(): boolean {
    return this.finished;
  }

  /**
   * Buffer objects held right now (input not yet consumed, plus the message being
   * assembled): bounded by a small constant however the peer cuts its bytes. Read-only,
   * for tests and diagnostics.
   */
  get pieceCount(): number {
    return this.chunks.length + this.message.pieces;
  }

  /** Bytes allocated for what is held (input plus the message's capacity), for the same. */
  get heldBytes(): number {
    return this.buffered + this.message.capacity;
  }

  /** Feeds the next bytes of the stream; returns what they completed, in order. */
  push(chunk: Buffer): ReceiverEvent[] {
    if (this.finished || chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.chunks.length > MAX_INPUT_PIECES) this.chunks = [Buffer.concat(this.chunks)];
    this.events = [];
    while (!this.finished && this.step());
    return this.events;
  }

  private step(): boolean {
    switch (this.state) {
      case 'info':
        return this.readInfo();
      case 'length16':
        return this.readLength16();
      case 'length64':
        return this.readLength64();
      case 'mask':
        return this.readMask();
      case 'data':
        return this.readData();
    }
  }

  private readInfo(): boolean {
    if (this.buffered < 2) return false;
    const header = this.take(2);
    this.fin = (header[0] & 0x80) !== 0;
    this.opcode = header[0] & 0x0f;
    this.masked = (header[1] & 0x80) !== 0;
    this.payloadLength = header[1] & 0x7f;
    this.payloadRead = 0;

    if ((header[0] & 0x70) !== 0) return this.fail(CloseCode.ProtocolError, 'RSV bits set');
    if (this.masked !== this.expectMasked) {
      return this.fail(
        CloseCode.ProtocolError,
        this.expectMasked ? 'unmasked client frame' : 'masked server frame',
      );
    }
    const problem = this.isControl() ? this.checkControlHeader() : this.checkDataHeader();
    if (problem !== undefined) return this.fail(CloseCode.ProtocolError, problem);

    if (this.payloadLength === 126) this.state = 'length16';
    else if (this.payloadLength === 127) this.state = 'length64';
    else return this.lengthKnown();
    return true;
  }

  private checkControlHeader(): string | undefined {
    if (
      this.opcode !== Opcode.Close &&
      this.opcode !== Opcode.Ping &&
      this.opcode !== Opcode.Pong
    ) {
      return `reserved opcode ${this.opcode}`;
    }
    if (!this.fin) return 'fragmented control frame';
    if (this.payloadLength > MAX_CONTROL_PAYLOAD) return 'control frame longer than 125 bytes';
    return undefined;
  }

  private checkDataHeader(): string | undefined {
    if (this.opcode === Opcode.Continuation) {
      return this.messageOpcode === undefined
        ? 'continuation frame with no message open'
        : undefined;
    }
    if (this.opcode !== Opcode.Text && this.opcode !== Opcode.Binary) {
      return `reserved opcode ${this.opcode}`;
    }
    return this.messageOpcode === undefined ? undefined : 'new message before the last one ended';
  }

  private readLength16(): boolean {
    if (this.buffered < 2) return false;
    this.payloadLength = this.take(2).readUInt16BE(0);
    return this.lengthKnown();
  }

  private readLength64(): boolean {
    if (this.buffered < 8) return false;
    const bytes = this.take(8);
    const high = bytes.readUInt32BE(0);
    if (high & 0x80000000) return this.fail(CloseCode.ProtocolError, '64-bit length top bit set');
    // Above 2^53 the number is inexact, but far above any size limit anyway.
    this.payloadLength = high * 0x100000000 + bytes.readUInt32BE(4);
    return this.lengthKnown();
  }

  /** Decides on size from the header alone: nothing over the limit is ever buffered. */
  private lengthKnown(): boolean {
    if (!this.isControl()) {
      if (this.messageLength + this.payloadLength > this.maxMessageSize) {
        return this.fail(CloseCode.MessageTooBig, 'message too big');
      }
      if (this.opcode !== Opcode.Continuation) {
        this.messageOpcode = this.opcode;
        this.utf8.reset();
      }
      this.messageLength += this.payloadLength;
    }
    this.state = this.masked ? 'mask' : 'data';
    return true;
  }

  private readMask(): boolean {
    if (this.buffered < 4) return false;
    this.mask = this.take(4);
    this.state = 'data';
    return true;
  }

  private readData(): boolean {
    if (this.isControl()) {
      if (this.buffered < this.payloadLength) return false;
      const payload = this.takePayload(this.payloadLength);
      this.state = 'info';
      return this.controlFrame(payload);
    }
    const remaining = this.payloadLength - this.payloadRead;
    if (remaining > 0) {
      if (this.buffered === 0) return false;
      // Take what is here now, so that bad UTF-8 fails as soon as it arrives.
      const part = this.takePayload(Math.min(remaining, this.buffered));
      this.payloadRead += part.length;
      if (this.messageOpcode === Opcode.Text && !this.utf8.write(part)) {
        return this.fail(CloseCode.InvalidPayload, 'invalid UTF-8 in text message');
      }
      this.message.append(part);
      if (this.payloadRead < this.payloadLength) return true;
    }
    this.state = 'info';
    return this.fin ? this.messageEnd() : true;
  }

  private messageEnd(): boolean {
    const data = this.message.take();
    const isText = this.messageOpcode === Opcode.Text;
    this.messageLength = 0;
    this.messageOpcode = undefined;
    if (isText) {
      if (!this.utf8.isComplete()) {
        return this.fail(CloseCode.InvalidPayload, 'text message ends inside a character');
      }
      this.events.push({ type: 'text', text: data.toString('utf8') });
    } else {
      this.events.push({ type: 'binary', data });
    }
    return true;
  }

  private controlFrame(payload: Buffer): boolean {
    if (this.opcode === Opcode.Ping) {
      this.events.push({ type: 'ping', data: payload });
      return true;
    }
    if (this.opcode === Opcode.Pong) {
      this.events.push({ type: 'pong', data: payload });
      return true;
    }
    if (payload.length === 0) return this.closeFrame(undefined, '');
    if (payload.length === 1) return this.fail(CloseCode.ProtocolError, 'close payload of 1 byte');
    const code = payload.readUInt16BE(0);
    if (!isValidCloseCode(code))
      return this.fail(CloseCode.ProtocolError, `invalid close code ${code}`);
    const reason = payload.subarray(2);
    if (!isValidUtf8(reason)) return this.fail(CloseCode.InvalidPayload, 'close reason not UTF-8');
    return this.closeFrame(code, reason.toString('utf8'));
  }

  private closeFrame(code: number | undefined, reason: string): boolean {
    this.events.push({ type: 'close', code, reason });
    this.finish();
    return false;
  }

  private fail(code: number, reason: string): boolean {
    this.events.push({ type: 'error', code, reason });
    this.finish();
    return false;
  }

  private finish(): void {
    this.finished = true;
    this.chunks = [];
    this.buffered = 0;
    this.message.clear();
  }

  private isControl(): boolean {
    return (this.opcode & 0x08) !== 0;
  }

  private takePayload(length: number): Buffer {
    const data = this.take(length);
    if (this.masked) unmaskInPlace(data, this.mask, this.payloadRead);
    return data;
  }

  /** Removes and returns the next `length` buffered bytes (a copy: it is unmasked in place). */
  private take(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const head = this.chunks[0];
      const count = Math.min(head.length, length - filled);
      head.copy(out, filled, 0, count);
      filled += count;
      if (count === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(count);
    }
    this.buffered -= length;
    return out;
  }
}
