import fc from 'fast-check';
import { Opcode } from '../../src/shared/protocol/constants';
import { encodeFrame } from '../../src/shared/protocol/frame';
import { MessageBuffer } from '../../src/shared/protocol/message-buffer';
import { MAX_INPUT_PIECES, Receiver, type ReceiverEvent } from '../../src/shared/protocol/receiver';

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const MiB = 1 << 20;
/** What the receiver may hold at any moment: the unconsumed input, plus one message buffer. */
const PIECE_BOUND = MAX_INPUT_PIECES + 1;

/** A payload whose bytes differ from place to place, so a misplaced byte shows. */
function pattern(length: number): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
  return data;
}

/**
 * Feeds `wire` in pieces of `step` bytes, checking after each one what the receiver
 * holds: never more than PIECE_BOUND buffers, never much more memory than the bytes.
 */
function feedChecked(receiver: Receiver, wire: Buffer, step: number): ReceiverEvent[] {
  const events: ReceiverEvent[] = [];
  let maxPieces = 0;
  let worstRatio = 0;
  for (let at = 0; at < wire.length; at += step) {
    events.push(...receiver.push(wire.subarray(at, at + step)));
    maxPieces = Math.max(maxPieces, receiver.pieceCount);
    worstRatio = Math.max(
      worstRatio,
      receiver.heldBytes / (at + step + MessageBuffer.MIN_CAPACITY),
    );
  }
  expect(maxPieces).toBeLessThanOrEqual(PIECE_BOUND);
  // Doubling growth: at most about twice the bytes that arrived.
  expect(worstRatio).toBeLessThanOrEqual(2);
  return events;
}

describe('receiver memory: bounded pieces whatever the cut', () => {
  test('a 1 MiB message sent one byte per push holds at most a few buffers and decodes', () => {
    const payload = pattern(MiB);
    const wire = encodeFrame(Opcode.Binary, payload, { mask: MASK });
    const receiver = new Receiver({ maxMessageSize: MiB });
    const events = feedChecked(receiver, wire, 1);
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe('binary');
    expect((events[0] as { data: Buffer }).data.equals(payload)).toBe(true);
    expect(receiver.pieceCount).toBe(0);
  });

  test('a text message in 20000 one-byte fragments, each split in single bytes, decodes', () => {
    const text = 'héllo wörld ✓ '.repeat(1000);
    const bytes = Buffer.from(text);
    const frames: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const opcode = i === 0 ? Opcode.Text : Opcode.Continuation;
      frames.push(
        encodeFrame(opcode, bytes.subarray(i, i + 1), { fin: i === bytes.length - 1, mask: MASK }),
      );
    }
    const receiver = new Receiver({ maxMessageSize: MiB });
    const events = feedChecked(receiver, Buffer.concat(frames), 1);
    expect(events).toEqual([{ type: 'text', text }]);
  });

  test('a ping arriving one byte per push is held in a bounded number of pieces', () => {
    const receiver = new Receiver({ maxMessageSize: 1024 });
    const ping = encodeFrame(Opcode.Ping, pattern(125), { mask: MASK });
    const events = feedChecked(receiver, ping, 1);
    expect(events).toEqual([{ type: 'ping', data: pattern(125) }]);
  });

  test('any cut of a long message keeps the bound (seeded property)', () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`receiver-pieces property seed: ${seed} (FC_SEED=${seed} to replay)`);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50000 }),
        fc.integer({ min: 1, max: 4096 }),
        (length, step) => {
          const payload = pattern(length);
          const receiver = new Receiver({ maxMessageSize: 50000 });
          const events = feedChecked(
            receiver,
            encodeFrame(Opcode.Binary, payload, { mask: MASK }),
            step,
          );
          expect(events).toHaveLength(1);
          expect((events[0] as { data: Buffer }).data.equals(payload)).toBe(true);
        },
      ),
      { seed, numRuns: 50 },
    );
  });
});

describe('MessageBuffer', () => {
  test('keeps the first piece as it is, then grows by doubling within the limit', () => {
    const buffer = new MessageBuffer(1000);
    const first = Buffer.from('abc');
    buffer.append(first);
    expect(buffer.capacity).toBe(3);
    buffer.append(Buffer.from('d'));
    expect(buffer.capacity).toBe(MessageBuffer.MIN_CAPACITY);
    buffer.append(Buffer.alloc(300, 0x65));
    expect(buffer.capacity).toBe(512);
    buffer.append(Buffer.alloc(300, 0x66));
    expect(buffer.capacity).toBe(1000); // doubling would pass the limit
    expect(buffer.pieces).toBe(1);
    const message = buffer.take();
    expect(message.length).toBe(604);
    expect(message.subarray(0, 4).toString()).toBe('abcd');
    expect(buffer.length).toBe(0);
    expect(buffer.pieces).toBe(0);
  });

  test('an empty message is an empty buffer', () => {
    expect(new MessageBuffer(10).take()).toEqual(Buffer.alloc(0));
  });
});
