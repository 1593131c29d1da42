import fc from 'fast-check';
import { PublishedFrames } from '../../src/master/channels/published-frames';
import { encodeText } from '../../src/shared/protocol/frame';
import { Receiver, type ReceiverEvent } from '../../src/shared/protocol/receiver';
import { FrameSplitter, WAKE_RECORD } from '../../src/shared/publish-stream';

/** What a client decodes from the bytes a worker writes (a client's receiver: unmasked frames). */
function decoded(bytes: Buffer[]): ReceiverEvent[] {
  const receiver = new Receiver({ maxMessageSize: 1 << 24, expectMasked: false });
  return bytes.flatMap((chunk) => receiver.push(chunk));
}

/**
 * Feeds `wire` to a splitter in reads of the given sizes, each through one reused read
 * buffer that is overwritten after every read (as the worker's pipe does), and returns
 * what came out: the frames handed on and their counts, and the wake records seen.
 */
function split(wire: Buffer, reads: number[]): { out: Buffer[]; counts: number[]; wakes: number } {
  const out: Buffer[] = [];
  const counts: number[] = [];
  let wakes = 0;
  const splitter = new FrameSplitter((frames, count) => {
    if (count === 0) {
      expect(frames).toHaveLength(0);
      wakes++;
      return;
    }
    out.push(frames);
    counts.push(count);
  });
  const readBuffer = Buffer.alloc(Math.max(1, ...reads));
  let at = 0;
  for (let i = 0; at < wire.length; i++) {
    const size = Math.min(Math.max(1, reads[i % reads.length]), wire.length - at);
    wire.copy(readBuffer, 0, at, at + size);
    splitter.push(readBuffer, size);
    readBuffer.fill(0xee); // the next read lands here
    at += size;
  }
  expect(splitter.waiting).toBe(0);
  return { out, counts, wakes };
}

const texts = (events: ReceiverEvent[]): string[] =>
  events.map((event) => (event.type === 'text' ? event.text : `<${event.type}>`));

describe('FrameSplitter (the worker side of the publish pipe)', () => {
  test('a read holding one frame hands it on, copied, with count 1', () => {
    const frame = encodeText('hello');
    const { out, counts } = split(frame, [frame.length]);
    expect(counts).toEqual([1]);
    expect(out[0].equals(frame)).toBe(true);
  });

  test('several frames in one read go on together, counted', () => {
    const wire = Buffer.concat(['a', 'bb', 'x'.repeat(300)].map((text) => encodeText(text)));
    const { out, counts } = split(wire, [wire.length]);
    expect(counts).toEqual([3]);
    expect(texts(decoded(out))).toEqual(['a', 'bb', 'x'.repeat(300)]);
  });

  test.each([
    ['7-bit', 100],
    ['16-bit', 70],
    ['16-bit, at its top', 65535],
    ['64-bit', 70000],
  ])('a frame with a %s length cut at every byte (one byte a read)', (_name, length) => {
    const text = 'y'.repeat(length);
    const { out, counts } = split(encodeText(text), [1]);
    expect(counts).toEqual([1]);
    expect(texts(decoded(out))).toEqual([text]);
  });

  test('a frame is never handed on in part: a read that ends mid-frame keeps the rest back', () => {
    const wire = Buffer.concat([encodeText('first'), encodeText('second')]);
    const { out, counts } = split(wire, [9]); // 7 bytes of "first", 2 of "second"
    expect(counts).toEqual([1, 1]);
    expect(out.map((frames) => decoded([frames]).length)).toEqual([1, 1]);
  });

  test('a wake record comes out as no frame, alone or between frames, whole or cut', () => {
    const alone = split(Buffer.from(WAKE_RECORD), [1]);
    expect(alone).toEqual({ out: [], counts: [], wakes: 1 });
    const wire = Buffer.concat([WAKE_RECORD, encodeText('one'), WAKE_RECORD, encodeText('two')]);
    for (const reads of [[wire.length], [1], [3]]) {
      const { out, counts, wakes } = split(wire, reads);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(2);
      expect(wakes).toBe(2);
      expect(texts(decoded(out))).toEqual(['one', 'two']);
    }
  });

  test('property: any frames, any reads: the same frames, whole, in order, counted', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ unit: 'grapheme', maxLength: 200 }),
            // 16- and 64-bit lengths, longer than one read of the worker's buffer
            fc.integer({ min: 126, max: 140000 }).map((length) => 'z'.repeat(length)),
          ),
          { minLength: 1, maxLength: 12 },
        ),
        fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
        (messages, reads, wakes) => {
          // Wake records here and there: never handed on.
          const records = messages.flatMap((text, i) =>
            wakes[i % wakes.length] ? [WAKE_RECORD, encodeText(text)] : [encodeText(text)],
          );
          const wire = Buffer.concat(records);
          const { out, counts, wakes: woken } = split(wire, reads);
          expect(woken).toBe(records.length - messages.length);
          const frameBytes = Buffer.concat(messages.map((text) => encodeText(text)));
          expect(Buffer.concat(out).equals(frameBytes)).toBe(true);
          expect(counts.reduce((a, b) => a + b, 0)).toBe(messages.length);
          // Each hand-off is whole frames: it decodes alone, to as many messages as counted.
          out.forEach((frames, i) => expect(decoded([frames])).toHaveLength(counts[i]));
          expect(texts(decoded(out))).toEqual(messages);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('PublishedFrames (the master side: framed once per publication and format)', () => {
  const publication = { channel: '/news', offset: 7, epoch: 'e1a2b3c4', data: 'goal! "3-1"' };

  test('a text client gets the message alone', () => {
    const frames = PublishedFrames.of(publication);
    expect(texts(decoded([frames.frame('text')]))).toEqual(['goal! "3-1"']);
  });

  test('a JSON client gets a pub object: channel, offset, epoch, data', () => {
    const [text] = texts(decoded([PublishedFrames.of(publication).frame('json')]));
    expect(JSON.parse(text)).toEqual({ type: 'pub', ...publication });
  });

  test('a broadcast says channel "*"', () => {
    const frames = PublishedFrames.of({ ...publication, channel: '*' });
    const [text] = texts(decoded([frames.frame('json')]));
    expect(JSON.parse(text)).toMatchObject({ type: 'pub', channel: '*', offset: 7 });
  });

  test('a message to one client: plain, or a direct object', () => {
    const frames = PublishedFrames.direct('just you');
    expect(texts(decoded([frames.frame('text')]))).toEqual(['just you']);
    expect(JSON.parse(texts(decoded([frames.frame('json')]))[0])).toEqual({
      type: 'direct',
      data: 'just you',
    });
  });

  test('an SSE client gets an event: id EPOCH:OFFSET, event pub, the JSON as data', () => {
    const [text] = texts(decoded([PublishedFrames.of(publication).frame('sse')]));
    const json = JSON.stringify({ type: 'pub', ...publication });
    expect(text).toBe(`id: e1a2b3c4:7\nevent: pub\ndata: ${json}\n\n`);
  });

  test('an SSE direct message has no id (the position stays); a gap names the position past it', () => {
    const [direct] = texts(decoded([PublishedFrames.direct('just you').frame('sse')]));
    expect(direct).toBe('event: direct\ndata: {"type":"direct","data":"just you"}\n\n');
    const gap = { channel: '/c', epoch: 'e1', from: 3, to: 5, reason: 'offset too old' as const };
    const [told] = texts(decoded([PublishedFrames.gap(gap).frame('sse')]));
    expect(told).toBe(`id: e1:5\nevent: gap\ndata: ${JSON.stringify({ type: 'gap', ...gap })}\n\n`);
  });

  test('an SSE broadcast has no id: its offsets are not the channel position', () => {
    const [text] = texts(
      decoded([PublishedFrames.of({ ...publication, channel: '*' }).frame('sse')]),
    );
    expect(text.startsWith('event: pub\ndata: ')).toBe(true);
  });

  test('each format is framed once, however many clients get it', () => {
    const frames = PublishedFrames.of(publication);
    expect(frames.frame('json')).toBe(frames.frame('json'));
    expect(frames.frame('text')).toBe(frames.frame('text'));
    expect(frames.frame('json')).not.toBe(frames.frame('text'));
  });
});
