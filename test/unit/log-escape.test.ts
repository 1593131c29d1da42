import fc from 'fast-check';
import { escapeControls } from '../../src/master/observability/log-escape';

// eslint-disable-next-line no-control-regex -- what must never reach a log line
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

describe('escapeControls', () => {
  test.each([
    ['a newline', 'hello\n[2026-11-26 21:00:00] forged', 'hello\\x0a[2026-11-26 21:00:00] forged'],
    ['CR and tab', 'a\r\tb', 'a\\x0d\\x09b'],
    ['ESC colour codes', '\x1b[31mred\x1b[0m', '\\x1b[31mred\\x1b[0m'],
    ['NUL and DEL', 'nul\0 del\x7f', 'nul\\x00 del\\x7f'],
    ['C1 controls (NEL, CSI)', 'c1 \u0085 \u009b31m', 'c1 \\x85 \\x9b31m'],
    ['U+2028, U+2029', 'js \u2028 \u2029', 'js \\u2028 \\u2029'],
    [
      'printable text is kept',
      'plain text, café, ✓, 😀, \ufffd, \u00a0',
      'plain text, café, ✓, 😀, \ufffd, \u00a0',
    ],
  ])('%s', (_name, input, expected) => {
    expect(escapeControls(input)).toBe(expected);
  });

  test('any text comes out with no control character and no line break (seeded)', () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`log-escape property seed: ${seed} (FC_SEED=${seed} to replay)`);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const escaped = escapeControls(text);
        expect(escaped).not.toMatch(UNSAFE);
        if (!UNSAFE.test(text)) expect(escaped).toBe(text);
      }),
      { seed, numRuns: 2000 },
    );
  });
});
