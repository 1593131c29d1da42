import { Opcode } from '../../src/shared/protocol/constants';
import { encodeClose, encodeFrame, encodeText } from '../../src/shared/protocol/frame';
import { Receiver } from '../../src/shared/protocol/receiver';

const MASK = Buffer.from([1, 2, 3, 4]);
const m = { mask: MASK };

function closePayload(code: number, reason: Buffer = Buffer.alloc(0)): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return Buffer.concat([payload, reason]);
}

/** One row per rule: the bytes, and the close code the receiver must answer with. */
const violations: [string, Buffer, number][] = [
  ['unmasked client frame', encodeText('hi'), 1002],
  ['RSV1 set', encodeText('hi', { ...m, rsv: 4 }), 1002],
  ['RSV2 set', encodeText('hi', { ...m, rsv: 2 }), 1002],
  ['RSV3 set', encodeText('hi', { ...m, rsv: 1 }), 1002],
  ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((op): [string, Buffer, number] => [
    `reserved opcode ${op}`,
    encodeFrame(op, Buffer.alloc(0), m),
    1002,
  ]),
  ['ping longer than 125 bytes', encodeFrame(Opcode.Ping, Buffer.alloc(126), m), 1002],
  ['fragmented ping', encodeFrame(Opcode.Ping, Buffer.alloc(1), { ...m, fin: false }), 1002],
  [
    'continuation with no message open',
    encodeFrame(Opcode.Continuation, Buffer.from('x'), m),
    1002,
  ],
  [
    'new text frame while a message is open',
    Buffer.concat([
      encodeFrame(Opcode.Text, Buffer.from('a'), { ...m, fin: false }),
      encodeText('b', m),
    ]),
    1002,
  ],
  [
    '64-bit length with the top bit set',
    Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]),
    1002,
  ],
  ['close payload of 1 byte', encodeFrame(Opcode.Close, Buffer.from([3]), m), 1002],
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000].map((code): [string, Buffer, number] => [
    `close code ${code}`,
    encodeFrame(Opcode.Close, closePayload(code), m),
    1002,
  ]),
  [
    'close reason not UTF-8',
    encodeFrame(Opcode.Close, closePayload(1000, Buffer.from([0xff])), m),
    1007,
  ],
  ['invalid UTF-8 in text', encodeFrame(Opcode.Text, Buffer.from([0x61, 0xc0, 0x80]), m), 1007],
  ['UTF-16 surrogate in text', encodeFrame(Opcode.Text, Buffer.from([0xed, 0xa0, 0x80]), m), 1007],
  ['text ending inside a character', encodeFrame(Opcode.Text, Buffer.from([0xe2, 0x82]), m), 1007],
  ['message over the size limit', encodeFrame(Opcode.Binary, Buffer.alloc(1025), m), 1009],
  [
    'fragments over the size limit together',
    Buffer.concat([
      encodeFrame(Opcode.Binary, Buffer.alloc(600), { ...m, fin: false }),
      encodeFrame(Opcode.Continuation, Buffer.alloc(600), m),
    ]),
    1009,
  ],
];

describe('receiver: every rule broken gives its close code', () => {
  test.each(violations)('%s', (_name, bytes, code) => {
    const events = new Receiver({ maxMessageSize: 1024 }).push(bytes);
    expect(events.at(-1)).toMatchObject({ type: 'error', code });
  });
});

describe('receiver: what is allowed', () => {
  test.each([1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999])('close code %i', (code) => {
    const events = new Receiver({ maxMessageSize: 1024 }).push(encodeClose(code, 'ok', m));
    expect(events).toEqual([{ type: 'close', code, reason: 'ok' }]);
  });

  test('a message exactly at the limit', () => {
    const events = new Receiver({ maxMessageSize: 1024 }).push(
      encodeFrame(Opcode.Binary, Buffer.alloc(1024), m),
    );
    expect(events).toEqual([{ type: 'binary', data: Buffer.alloc(1024) }]);
  });

  test('an over-size message is refused from its header alone', () => {
    const header = encodeFrame(Opcode.Binary, Buffer.alloc(1 << 20), m).subarray(0, 14);
    expect(new Receiver({ maxMessageSize: 1024 }).push(header)).toMatchObject([
      { type: 'error', code: 1009 },
    ]);
  });

  test('invalid UTF-8 fails as soon as the byte arrives, before the frame ends', () => {
    const frame = encodeFrame(Opcode.Text, Buffer.from([0x61, 0x62, 0xff, 0x63, 0x64]), m);
    const r = new Receiver({ maxMessageSize: 1024 });
    expect(r.push(frame.subarray(0, 8))).toEqual([]);
    expect(r.push(frame.subarray(8, 9))).toMatchObject([{ type: 'error', code: 1007 }]);
  });

  test('invalid UTF-8 across a fragment boundary fails in the second fragment', () => {
    const r = new Receiver({ maxMessageSize: 1024 });
    expect(r.push(encodeFrame(Opcode.Text, Buffer.from([0xe2]), { ...m, fin: false }))).toEqual([]);
    expect(
      r.push(encodeFrame(Opcode.Continuation, Buffer.from([0x28]), { ...m, fin: false })),
    ).toMatchObject([{ type: 'error', code: 1007 }]);
  });

  test('a binary message may hold any bytes', () => {
    const events = new Receiver({ maxMessageSize: 1024 }).push(
      encodeFrame(Opcode.Binary, Buffer.from([0xff, 0xc0]), m),
    );
    expect(events).toEqual([{ type: 'binary', data: Buffer.from([0xff, 0xc0]) }]);
  });
});
