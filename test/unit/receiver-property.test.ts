import fc from 'fast-check';
import { Opcode } from '../../src/shared/protocol/constants';
import { encodeFrame } from '../../src/shared/protocol/frame';
import { Receiver, type ReceiverEvent } from '../../src/shared/protocol/receiver';

/** The number of generated cases each property runs (the README and the note quote it). */
const RUNS = 500;

const message = fc.oneof(
  fc.record({
    kind: fc.constant('text' as const),
    text: fc.string({ unit: 'grapheme', maxLength: 300 }),
  }),
  fc.record({ kind: fc.constant('binary' as const), data: fc.uint8Array({ maxLength: 70000 }) }),
);

/** Each message cut into 1..4 fragments, with a ping squeezed in between some. */
function wireOf(
  messages: { kind: 'text' | 'binary'; text?: string; data?: Uint8Array }[],
  cuts: number[],
  mask: Uint8Array,
): { wire: Buffer; expected: ReceiverEvent[] } {
  const frames: Buffer[] = [];
  const expected: ReceiverEvent[] = [];
  messages.forEach((msg, index) => {
    const payload =
      msg.kind === 'text' ? Buffer.from(msg.text as string) : Buffer.from(msg.data as Uint8Array);
    const pieces = 1 + (cuts[index % cuts.length] % 4);
    const step = Math.ceil(payload.length / pieces) || 1;
    for (
      let start = 0, first = true;
      first || start < payload.length;
      start += step, first = false
    ) {
      const fin = start + step >= payload.length;
      const opcode = first
        ? msg.kind === 'text'
          ? Opcode.Text
          : Opcode.Binary
        : Opcode.Continuation;
      frames.push(encodeFrame(opcode, payload.subarray(start, start + step), { fin, mask }));
      if (!fin && index % 2 === 0) {
        frames.push(encodeFrame(Opcode.Ping, Buffer.from('p'), { mask }));
        expected.push({ type: 'ping', data: Buffer.from('p') });
      }
    }
    expected.push(
      msg.kind === 'text'
        ? { type: 'text', text: msg.text as string }
        : { type: 'binary', data: payload },
    );
  });
  return { wire: Buffer.concat(frames), expected };
}

function splitAt(wire: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (wire.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const point of [...sorted, wire.length]) {
    chunks.push(wire.subarray(last, point));
    last = point;
  }
  return chunks;
}

describe('receiver properties', () => {
  test('valid frames split at any points decode to the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (messages, cuts, mask, points) => {
          const { wire, expected } = wireOf(messages, cuts, mask);
          const receiver = new Receiver({ maxMessageSize: 1 << 20 });
          const events = splitAt(wire, points).flatMap((chunk) => receiver.push(chunk));
          expect(events).toEqual(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('random bytes never throw: they decode or end in a close code', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (bytes, points) => {
          const receiver = new Receiver({ maxMessageSize: 4096 });
          const events = splitAt(Buffer.from(bytes), points).flatMap((chunk) =>
            receiver.push(chunk),
          );
          for (const event of events.filter((e) => e.type === 'error')) {
            expect([1002, 1007, 1009]).toContain((event as { code: number }).code);
          }
          expect(
            events.filter((e) => e.type === 'error' || e.type === 'close').length,
          ).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: RUNS * 10 },
    );
  });

  test('random bytes after a valid masked header still never throw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.uint8Array({ maxLength: 300 }),
        (opcode, rest) => {
          const receiver = new Receiver({ maxMessageSize: 4096 });
          const head = Buffer.from([0x80 | opcode, 0x80 | (rest.length & 0x7f), 1, 2, 3, 4]);
          expect(() => receiver.push(Buffer.concat([head, Buffer.from(rest)]))).not.toThrow();
        },
      ),
      { numRuns: RUNS * 4 },
    );
  });
});
