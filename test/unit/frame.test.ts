import { Opcode } from '../../src/shared/protocol/constants';
import { encodeClose, encodeFrame, encodeText } from '../../src/shared/protocol/frame';
import { Receiver, type ReceiverEvent } from '../../src/shared/protocol/receiver';

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const receiver = (): Receiver => new Receiver({ maxMessageSize: 1 << 20 });

function feedBytewise(r: Receiver, data: Buffer): ReceiverEvent[] {
  const events: ReceiverEvent[] = [];
  for (let i = 0; i < data.length; i++) events.push(...r.push(data.subarray(i, i + 1)));
  return events;
}

describe('frame encoding', () => {
  test.each([
    [0, 2],
    [125, 2],
    [126, 4],
    [65535, 4],
    [65536, 10],
  ])('a %i-byte payload gets a %i-byte header in network byte order', (length, headerSize) => {
    const frame = encodeFrame(Opcode.Binary, Buffer.alloc(length, 7));
    expect(frame.length).toBe(headerSize + length);
    expect(frame[0]).toBe(0x82);
    if (headerSize === 2) expect(frame[1]).toBe(length);
    if (headerSize === 4) expect([frame[1], frame.readUInt16BE(2)]).toEqual([126, length]);
    if (headerSize === 10)
      expect([frame[1], frame.readBigUInt64BE(2)]).toEqual([127, BigInt(length)]);
  });

  test('the RFC 6455 masked "Hello" sample', () => {
    const frame = encodeText('Hello', { mask: MASK });
    expect(frame.toString('hex')).toBe('818537fa213d7f9f4d5158');
  });

  test('the RFC 6455 unmasked "Hello" sample', () => {
    expect(encodeText('Hello').toString('hex')).toBe('810548656c6c6f');
  });

  test('a close frame carries its code and reason', () => {
    expect(encodeClose(1000, 'bye').toString('hex')).toBe('880503e8627965');
    expect(encodeClose(undefined).toString('hex')).toBe('8800');
  });
});

describe('frame decoding', () => {
  test.each([0, 125, 126, 65535, 65536])('a masked %i-byte text message', (length) => {
    const text = 'x'.repeat(length);
    expect(receiver().push(encodeText(text, { mask: MASK }))).toEqual([{ type: 'text', text }]);
  });

  test.each([0, 125, 126, 65535, 65536])('a masked %i-byte binary message', (length) => {
    const data = Buffer.alloc(length, 0xab);
    const events = receiver().push(encodeFrame(Opcode.Binary, data, { mask: MASK }));
    expect(events).toEqual([{ type: 'binary', data }]);
  });

  test('two frames in one buffer give two messages', () => {
    const both = Buffer.concat([
      encodeText('one', { mask: MASK }),
      encodeText('two', { mask: MASK }),
    ]);
    expect(receiver().push(both)).toEqual([
      { type: 'text', text: 'one' },
      { type: 'text', text: 'two' },
    ]);
  });

  test('one frame fed a byte at a time', () => {
    const text = 'héllo wörld '.repeat(20);
    expect(feedBytewise(receiver(), encodeText(text, { mask: MASK }))).toEqual([
      { type: 'text', text },
    ]);
  });

  test('a 64-bit length fed a byte at a time', () => {
    const data = Buffer.alloc(70000, 1);
    const events = feedBytewise(receiver(), encodeFrame(Opcode.Binary, data, { mask: MASK }));
    expect(events).toEqual([{ type: 'binary', data }]);
  });

  test('fragments with control frames between them make one message', () => {
    const wire = Buffer.concat([
      encodeFrame(Opcode.Text, Buffer.from('qu'), { fin: false, mask: MASK }),
      encodeFrame(Opcode.Ping, Buffer.from('p'), { mask: MASK }),
      encodeFrame(Opcode.Continuation, Buffer.from('i'), { fin: false, mask: MASK }),
      encodeFrame(Opcode.Pong, Buffer.alloc(0), { mask: MASK }),
      encodeFrame(Opcode.Continuation, Buffer.from('t'), { mask: MASK }),
    ]);
    expect(receiver().push(wire)).toEqual([
      { type: 'ping', data: Buffer.from('p') },
      { type: 'pong', data: Buffer.alloc(0) },
      { type: 'text', text: 'quit' },
    ]);
  });

  test('a multi-byte character split across fragments is fine', () => {
    const euro = Buffer.from('€');
    const wire = Buffer.concat([
      encodeFrame(Opcode.Text, euro.subarray(0, 1), { fin: false, mask: MASK }),
      encodeFrame(Opcode.Continuation, euro.subarray(1), { mask: MASK }),
    ]);
    expect(receiver().push(wire)).toEqual([{ type: 'text', text: '€' }]);
  });

  test('a close frame ends the stream; later bytes are ignored', () => {
    const r = receiver();
    const wire = Buffer.concat([
      encodeClose(1000, 'bye', { mask: MASK }),
      encodeText('late', { mask: MASK }),
    ]);
    expect(r.push(wire)).toEqual([{ type: 'close', code: 1000, reason: 'bye' }]);
    expect(r.isFinished).toBe(true);
    expect(r.push(encodeText('more', { mask: MASK }))).toEqual([]);
  });

  test('an empty close frame has no code', () => {
    expect(receiver().push(encodeClose(undefined, '', { mask: MASK }))).toEqual([
      { type: 'close', code: undefined, reason: '' },
    ]);
  });
});
