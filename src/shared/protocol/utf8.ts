/**
 * A streaming UTF-8 validator (Unicode 15, table 3-7 "well-formed byte sequences").
 *
 * Text messages may arrive in many fragments and a fragment may end in the middle
 * of a character, so the validator keeps state between calls. It reports the
 * first invalid byte as soon as it is seen, which lets the receiver close with
 * 1007 without waiting for the rest of the message.
 */
export class Utf8Validator {
  /** Continuation bytes still expected for the current character. */
  private pending = 0;
  /** Allowed range of the next continuation byte (narrowed after some lead bytes). */
  private low = 0x80;
  private high = 0xbf;

  /** Feeds bytes; returns false at the first byte that cannot be valid UTF-8. */
  write(bytes: Uint8Array): boolean {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (this.pending === 0) {
        if (byte < 0x80) continue;
        if (!this.startSequence(byte)) return false;
        continue;
      }
      if (byte < this.low || byte > this.high) return false;
      this.low = 0x80;
      this.high = 0xbf;
      this.pending--;
    }
    return true;
  }

  /** True when the bytes so far end on a character boundary. */
  isComplete(): boolean {
    return this.pending === 0;
  }

  reset(): void {
    this.pending = 0;
    this.low = 0x80;
    this.high = 0xbf;
  }

  private startSequence(lead: number): boolean {
    if (lead >= 0xc2 && lead <= 0xdf) return this.expect(1, 0x80, 0xbf);
    if (lead === 0xe0) return this.expect(2, 0xa0, 0xbf); // no overlong 3-byte forms
    if (lead === 0xed) return this.expect(2, 0x80, 0x9f); // no UTF-16 surrogates
    if (lead >= 0xe1 && lead <= 0xef) return this.expect(2, 0x80, 0xbf);
    if (lead === 0xf0) return this.expect(3, 0x90, 0xbf); // no overlong 4-byte forms
    if (lead === 0xf4) return this.expect(3, 0x80, 0x8f); // nothing above U+10FFFF
    if (lead >= 0xf1 && lead <= 0xf3) return this.expect(3, 0x80, 0xbf);
    return false; // 0x80-0xc1 and 0xf5-0xff never start a character
  }

  private expect(count: number, low: number, high: number): boolean {
    this.pending = count;
    this.low = low;
    this.high = high;
    return true;
  }
}

/** Validates a whole buffer at once. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const validator = new Utf8Validator();
  return validator.write(bytes) && validator.isComplete();
}

/**
 * Where to cut `bytes` at most `limit` bytes in without splitting a UTF-8 character:
 * back up over continuation bytes (10xxxxxx), at most three.
 */
export function characterBoundary(bytes: Uint8Array, limit: number): number {
  let cut = limit;
  while (cut > limit - 3 && cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return cut > 0 ? cut : limit;
}
