import fc from 'fast-check';
import { LineSplitter } from '../../src/shared/line-splitter';

/** Feeds the chunks in order; returns every line and what end() gives. */
function split(
  maxBytes: number,
  chunks: (string | Buffer)[],
): { lines: string[]; rest: string | undefined } {
  const splitter = new LineSplitter(maxBytes);
  const lines = chunks.flatMap((chunk) =>
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk),
  );
  return { lines, rest: splitter.end() };
}

describe('LineSplitter', () => {
  it('gives a line once its newline arrives, across chunks', () => {
    const splitter = new LineSplitter(100);
    expect(splitter.push(Buffer.from('ab'))).toEqual([]);
    expect(splitter.push(Buffer.from('c\nde'))).toEqual(['abc']);
    expect(splitter.push(Buffer.from('f\ng'))).toEqual(['def']);
    expect(splitter.push(Buffer.from('\n'))).toEqual(['g']);
    expect(splitter.end()).toBeUndefined();
  });

  it('gives several lines of one chunk in order, empty lines included', () => {
    expect(split(100, ['one\ntwo\n\nfour\n'])).toEqual({
      lines: ['one', 'two', '', 'four'],
      rest: undefined,
    });
  });

  it('drops the \\r of \\r\\n, also when \\r and \\n come in different chunks', () => {
    expect(split(100, ['a\r\nb\r', '\nc\r\n']).lines).toEqual(['a', 'b', 'c']);
  });

  it('keeps a \\r that does not end the line', () => {
    expect(split(100, ['a\rb\n']).lines).toEqual(['a\rb']);
  });

  it('cuts a line longer than maxBytes into pieces of maxBytes', () => {
    expect(split(4, ['abcdefghij\n']).lines).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('cuts across chunks, and a line of exactly maxBytes is one line', () => {
    expect(split(4, ['ab', 'cdef', 'gh\n', 'wxyz\n']).lines).toEqual(['abcd', 'efgh', 'wxyz']);
  });

  it('cuts a stream that never writes a newline, holding at most maxBytes', () => {
    const splitter = new LineSplitter(3);
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) lines.push(...splitter.push(Buffer.from('x')));
    expect(lines).toEqual(['xxx', 'xxx', 'xxx']);
    expect(splitter.end()).toBe('x');
  });

  it('end() gives the unterminated rest once, and undefined when there is none', () => {
    const splitter = new LineSplitter(100);
    splitter.push(Buffer.from('done\npartial'));
    expect(splitter.end()).toBe('partial');
    expect(splitter.end()).toBeUndefined();
    expect(new LineSplitter(100).end()).toBeUndefined();
  });

  it('keeps a UTF-8 character whole when a chunk boundary splits it', () => {
    const bytes = Buffer.from('é€😀\n');
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    expect(split(100, chunks).lines).toEqual(['é€😀']);
  });

  it('property: any chunking of short lines gives the lines back', () => {
    const maxBytes = 64;
    const line = fc
      .string({ unit: 'grapheme', maxLength: 16 })
      .filter((text) => !/[\r\n]/.test(text) && Buffer.byteLength(text) <= maxBytes);
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.boolean(),
        (lines, cuts, crlf) => {
          const bytes = Buffer.from(lines.map((text) => `${text}${crlf ? '\r\n' : '\n'}`).join(''));
          const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const chunks = [0, ...points, bytes.length]
            .slice(1)
            .map((end, index, ends) => bytes.subarray(index === 0 ? 0 : ends[index - 1], end));
          expect(split(maxBytes, chunks)).toEqual({ lines, rest: undefined });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: no piece is longer than maxBytes (ASCII), and together they are the input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(
          fc.string({ maxLength: 40 }).map((text) => text.replace(/[\r\n]/g, '')),
          {
            maxLength: 10,
          },
        ),
        (maxBytes, lines) => {
          const { lines: pieces } = split(maxBytes, [lines.map((text) => `${text}\n`).join('')]);
          for (const piece of pieces)
            expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(maxBytes);
          expect(pieces.join('')).toBe(lines.join(''));
        },
      ),
      { numRuns: 300 },
    );
  });
});
