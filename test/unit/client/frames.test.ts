import fc from 'fast-check';
import { readFrame, type Position, type Read } from '../../../src/client/lib/frames';
import { PublishedFrames } from '../../../src/master/channels/published-frames';
import { FrameText } from '../../../workers/frames';

/** How frames move a client's position, and what it is told of each. */
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`client frames property seed: ${seed} (FC_SEED=${seed} to replay)`);

const at = (offset: number, epoch = 'e1'): Position => ({ epoch, offset });
const frame = (value: object): string => JSON.stringify(value);
const pub = (offset: number, data = `m${offset}`, epoch = 'e1', channel = '/news'): string =>
  frame({ type: 'pub', channel, offset, epoch, data });
const read = (text: string, position: Position | null = null): Read =>
  readFrame(text, '/news', position);

describe('frames a client reads', () => {
  test('pushes, direct messages, plain text, unknown types: delivered, position kept', () => {
    expect(read(frame({ type: 'push', data: 'tick' }), at(1))).toEqual({
      reading: { kind: 'push', data: 'tick' },
      position: at(1),
    });
    expect(read(frame({ type: 'direct', data: 'hi' })).reading).toEqual({
      kind: 'direct',
      data: 'hi',
    });
    expect(read('not json {', at(2))).toEqual({
      reading: { kind: 'push', data: 'not json {' },
      position: at(2),
    });
    expect(read('[1,2]').reading).toEqual({ kind: 'push', data: '[1,2]' });
    const later = frame({ type: 'presence', who: 'x' });
    expect(read(later, at(3))).toEqual({
      reading: { kind: 'other', text: later },
      position: at(3),
    });
  });

  test('a position frame, then publications move the position; repeats are dropped', () => {
    let position = read(
      frame({ type: 'position', channel: '/news', epoch: 'e1', offset: 4 }),
    ).position;
    expect(position).toEqual(at(4));
    expect(read(pub(4), position).reading).toMatchObject({ kind: 'duplicate', offset: 4 });
    const fifth = read(pub(5), position);
    expect(fifth.reading).toEqual({
      kind: 'pub',
      channel: '/news',
      epoch: 'e1',
      offset: 5,
      data: 'm5',
      restarted: false,
    });
    position = fifth.position;
    expect(position).toEqual(at(5));
    // A broadcast has offsets of another stream: delivered, the position kept.
    expect(read(pub(90, 'all', 'e9', '*'), position)).toMatchObject({
      reading: { kind: 'pub', channel: '*', offset: 90 },
      position: at(5),
    });
    // A new epoch on this channel: the stream began again.
    expect(read(pub(1, 'x', 'e2'), position)).toMatchObject({
      reading: { kind: 'pub', restarted: true },
      position: at(1, 'e2'),
    });
  });

  test('a publication that skips offsets: a gap from the next to the one before it, not delivered', () => {
    expect(read(pub(9), at(5))).toEqual({
      reading: { kind: 'skipped', channel: '/news', epoch: 'e1', from: 6, to: 8, offset: 9 },
      position: at(5),
    });
    // No position yet, or another epoch: nothing to compare with.
    expect(read(pub(9)).reading.kind).toBe('pub');
    expect(read(pub(9, 'x', 'e2'), at(5)).reading.kind).toBe('pub');
  });

  test('recovered: the position kept for the publications that follow', () => {
    const recovery = read(
      frame({
        type: 'recovery',
        recovered: true,
        count: 3,
        channel: '/news',
        epoch: 'e1',
        offset: 8,
      }),
      at(5),
    );
    expect(recovery).toEqual({
      reading: { kind: 'recovery', recovered: true, count: 3, reason: undefined },
      position: at(5),
    });
    expect(read(pub(6), recovery.position).reading.kind).toBe('pub');
  });

  test('not recovered: the reason, and the channel position as it is now', () => {
    const lost = read(
      frame({
        type: 'recovery',
        recovered: false,
        count: 0,
        reason: 'epoch changed',
        channel: '/news',
        epoch: 'e2',
        offset: 0,
      }),
      at(5),
    );
    expect(lost).toEqual({
      reading: { kind: 'recovery', recovered: false, count: 0, reason: 'epoch changed' },
      position: at(0, 'e2'),
    });
    expect(read(pub(1, 'new', 'e2'), lost.position).reading).toMatchObject({
      kind: 'pub',
      restarted: false,
    });
  });

  test("the server's gap frame: told, and the position moves past it so that what follows follows on", () => {
    const gap = {
      type: 'gap',
      channel: '/news',
      epoch: 'e1',
      from: 6,
      to: 8,
      reason: 'history trimmed',
    };
    const told = read(frame(gap), at(5));
    expect(told).toEqual({
      reading: {
        kind: 'gap',
        channel: '/news',
        epoch: 'e1',
        from: 6,
        to: 8,
        reason: 'history trimmed',
      },
      position: at(8),
    });
    expect(read(pub(9), told.position).reading.kind).toBe('pub');
    // Partly delivered already: still past it.
    expect(read(frame(gap), at(7)).position).toEqual(at(8));
    // A gap further on leaves the hole before it: the next publication is then skipped.
    const later = read(frame({ ...gap, from: 8, to: 9 }), at(5));
    expect(later.position).toEqual(at(5));
    expect(read(pub(10), later.position).reading).toMatchObject({ kind: 'skipped', from: 6 });
    // Another epoch, or behind the position: told, the position kept.
    expect(read(frame({ ...gap, epoch: 'e0' }), at(5)).position).toEqual(at(5));
    expect(read(frame({ ...gap, from: 1, to: 3 }), at(5)).position).toEqual(at(5));
    // Malformed: another frame.
    expect(read(frame({ ...gap, to: 2 }), at(5)).reading.kind).toBe('other');
  });

  test('replayed publications in any mix: each offset delivered once, in order', () => {
    const replays = fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.nat()), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), replays, (last, extra) => {
        // Offsets 1..last in order, with earlier ones sent again at random places.
        const sent: number[] = [];
        for (let offset = 1; offset <= last; offset++) {
          sent.push(offset);
          for (const [where, back] of extra) if (where === offset) sent.push(1 + (back % offset));
        }
        let position: Position | null = at(0);
        const shown: number[] = [];
        for (const offset of sent) {
          const next = read(pub(offset), position);
          if (next.reading.kind === 'pub') shown.push(next.reading.offset);
          position = next.position;
        }
        expect(shown).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      }),
      { seed },
    );
  });
});

describe("the server's own frames, as the client reads them", () => {
  /** The text of a small unmasked text frame the server wrote (2-byte header). */
  const text = (frame: Buffer): string => {
    expect(frame[1]).toBeLessThan(126);
    return frame.subarray(2).toString('utf8');
  };
  const json = new FrameText('json');

  test('position, pub, gap, recovery: written by the server, read by the client', () => {
    const position = read(json.opening('/news', at(4), undefined) as string);
    expect(position).toEqual({
      reading: { kind: 'position', channel: '/news', epoch: 'e1', offset: 4 },
      position: at(4),
    });
    const publication = { channel: '/news', epoch: 'e1', offset: 5, data: 'five' };
    expect(read(text(PublishedFrames.of(publication).frame('json')), at(4)).reading).toEqual({
      kind: 'pub',
      ...publication,
      restarted: false,
    });
    const gap = {
      channel: '/news',
      epoch: 'e1',
      from: 6,
      to: 9,
      reason: 'offset too old' as const,
    };
    expect(read(text(PublishedFrames.gap(gap).frame('json')), at(5))).toEqual({
      reading: { kind: 'gap', ...gap },
      position: at(9),
    });
    const lost = json.opening('/news', at(0, 'e2'), {
      recovered: false,
      count: 0,
      reason: 'epoch changed',
    });
    expect(read(lost as string, at(9))).toEqual({
      reading: { kind: 'recovery', recovered: false, count: 0, reason: 'epoch changed' },
      position: at(0, 'e2'),
    });
    expect(read(text(PublishedFrames.direct('hi').frame('json'))).reading).toEqual({
      kind: 'direct',
      data: 'hi',
    });
    expect(read(json.push('tick')).reading).toEqual({ kind: 'push', data: 'tick' });
  });
});
