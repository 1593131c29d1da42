import { Utf8Validator, isValidUtf8 } from '../../src/shared/protocol/utf8';

describe('UTF-8 validation', () => {
  test.each([
    ['ascii', 'hello'],
    ['two-byte', 'héllo'],
    ['three-byte', '€ and 中文'],
    ['four-byte', '😀 𝄞'],
    ['edge U+FFFF', '\uffff'],
    ['edge U+10FFFF', String.fromCodePoint(0x10ffff)],
  ])('accepts %s', (_name, text) => {
    expect(isValidUtf8(Buffer.from(text))).toBe(true);
  });

  test.each([
    ['lone continuation', [0x80]],
    ['overlong 2-byte', [0xc0, 0xaf]],
    ['overlong 3-byte', [0xe0, 0x80, 0xaf]],
    ['overlong 4-byte', [0xf0, 0x80, 0x80, 0xaf]],
    ['surrogate', [0xed, 0xbf, 0xbf]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['0xF5 lead', [0xf5, 0x80, 0x80, 0x80]],
    ['0xFF', [0xff]],
    ['truncated', [0xe2, 0x82]],
    ['lead followed by ascii', [0xc3, 0x41]],
  ])('rejects %s', (_name, bytes) => {
    expect(isValidUtf8(Buffer.from(bytes))).toBe(false);
  });

  test('agrees with a strict decoder on every 2-byte sequence and sampled 3/4-byte ones', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const strict = (bytes: Buffer): boolean => {
      try {
        decoder.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    const disagreements: string[] = [];
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const pair = Buffer.from([a, b]);
        const triple = Buffer.from([a, b, (a * 7 + b) & 0xff]);
        const quad = Buffer.from([0xf0 + (a & 7), b, 0x80 + (a & 0x3f), 0x80 + (b & 0x3f)]);
        for (const bytes of [pair, triple, quad]) {
          if (isValidUtf8(bytes) !== strict(bytes)) disagreements.push(bytes.toString('hex'));
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  test('state carries across writes', () => {
    const validator = new Utf8Validator();
    const euro = Buffer.from('€');
    expect(validator.write(euro.subarray(0, 2))).toBe(true);
    expect(validator.isComplete()).toBe(false);
    expect(validator.write(euro.subarray(2))).toBe(true);
    expect(validator.isComplete()).toBe(true);
  });
});
