import { Opcode } from './constants';
import { characterBoundary } from './utf8';

/**
 * Frame encoding (RFC 6455, section 5.2). Pure: bytes in, bytes out.
 *
 * Every length is written in network byte order, and the 64-bit form really is
 * 64 bits: the original PHP server packed the 16-bit length in machine order and
 * wrote only 32 bits of the 64-bit one.
 */
export interface EncodeOptions {
  /** FIN bit; false for every fragment but the last. Default true. */
  fin?: boolean;
  /** A 4-byte masking key. Servers never mask; clients (tests, benchmarks) must. */
  mask?: Uint8Array;
  /** RSV1-3 bits as a 3-bit number (only tests set these). */
  rsv?: number;
}

/** Writes the first byte and the payload length; returns where the rest goes. */
function writeHeader(frame: Buffer, first: number, length: number): number {
  frame[0] = first;
  if (length < 126) {
    frame[1] = length;
    return 2;
  }
  if (length <= 0xffff) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
    return 4;
  }
  frame[1] = 127;
  frame.writeBigUInt64BE(BigInt(length), 2);
  return 10;
}

function frameHeaderLength(payloadLength: number, masked: boolean): number {
  const lengthBytes = payloadLength < 126 ? 0 : payloadLength <= 0xffff ? 2 : 8;
  return 2 + lengthBytes + (masked ? 4 : 0);
}

/**
 * Total length of the frame that starts at `offset` (header and payload), or -1 when
 * its header is not all there yet. Server frames: no mask, the length in 7, 16 or 64 bits.
 */
export function unmaskedFrameLength(bytes: Uint8Array, offset: number, end: number): number {
  if (end - offset < 2) return -1;
  const short = bytes[offset + 1] & 0x7f;
  if (short < 126) return 2 + short;
  if (short === 126) {
    return end - offset < 4 ? -1 : 4 + ((bytes[offset + 2] << 8) | bytes[offset + 3]);
  }
  if (end - offset < 10) return -1;
  let length = 0;
  for (let i = 2; i < 10; i++) length = length * 256 + bytes[offset + i];
  return 10 + length;
}

export function encodeFrame(
  opcode: Opcode,
  payload: Uint8Array = Buffer.alloc(0),
  options: EncodeOptions = {},
): Buffer {
  const { fin = true, mask, rsv = 0 } = options;
  const length = payload.length;
  const frame = Buffer.allocUnsafe(frameHeaderLength(length, mask !== undefined) + length);
  let offset = writeHeader(frame, (fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0x0f), length);
  if (mask === undefined) {
    frame.set(payload, offset);
    return frame;
  }
  frame[1] |= 0x80;
  frame.set(mask.subarray(0, 4), offset);
  offset += 4;
  for (let i = 0; i < length; i++) frame[offset + i] = payload[i] ^ mask[i & 3];
  return frame;
}

/** A text frame; unmasked (a server's), the text is written straight into the frame. */
export function encodeText(text: string, options?: EncodeOptions): Buffer {
  if (options !== undefined) return encodeFrame(Opcode.Text, Buffer.from(text, 'utf8'), options);
  const length = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(frameHeaderLength(length, false) + length);
  frame.write(text, writeHeader(frame, 0x80 | Opcode.Text, length), 'utf8');
  return frame;
}

/** Longest close reason in bytes: a control frame's payload is at most 125, the code takes 2. */
const MAX_REASON_BYTES = 123;

/**
 * The payload of a close frame: a 16-bit code and a UTF-8 reason, or nothing. A longer
 * reason is cut to 123 bytes, before the character that would not fit whole.
 */
export function closePayload(code?: number, reason = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const utf8 = Buffer.from(reason, 'utf8');
  const reasonBytes = utf8.subarray(0, characterBoundary(utf8, MAX_REASON_BYTES));
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, 2);
  return payload;
}

export function encodeClose(
  code: number | undefined,
  reason = '',
  options?: EncodeOptions,
): Buffer {
  return encodeFrame(Opcode.Close, closePayload(code, reason), options);
}

/** XORs data in place with the mask, starting at the given position of the payload. */
export function unmaskInPlace(data: Uint8Array, mask: Uint8Array, payloadOffset: number): void {
  for (let i = 0; i < data.length; i++) data[i] ^= mask[(payloadOffset + i) & 3];
}
